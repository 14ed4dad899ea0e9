"""ldap3 reads the lab's directory as it reads Active Directory: RootDSE, schema, then a subtree search."""
import json
import sys

from ldap3 import ALL, SUBTREE, Connection, Server

host, port, user, password, base = sys.argv[1:6]
server = Server(host, port=int(port), get_info=ALL)
conn = Connection(server, user=user, password=password, auto_bind=True, auto_referrals=False)
conn.search(base, '(objectClass=*)', SUBTREE, attributes=['objectClass'])
print(json.dumps({
    'schema': server.schema is not None and len(server.schema.attribute_types) > 0,
    'cACertificate': str(server.schema.attribute_types['cACertificate'].syntax) if server.schema else None,
    'namingContexts': list(server.info.naming_contexts),
    'capabilities': [f[0] for f in server.info.supported_features],
    'rootDseDn': list(server.info.other.get('distinguishedName', [])),
    'entries': [e['dn'] for e in conn.response if e['type'] == 'searchResEntry'],
    'references': [u for e in conn.response if e['type'] == 'searchResRef' for u in e['uri']],
}))
conn.unbind()
