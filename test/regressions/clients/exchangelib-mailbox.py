"""exchangelib reads a mailbox of the lab's EWS double as it reads Exchange 2007 SP1's: it probes the server
version with ConvertId, opens the root folders, lists contacts with their e-mail and phone entries."""
import json
import sys
import warnings

from exchangelib import DELEGATE, NTLM, Account, Configuration, Credentials
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter

warnings.filterwarnings('ignore')
BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter  # the lab CA is the lab's own
endpoint, user, password, address = sys.argv[1:5]
config = Configuration(service_endpoint=endpoint, credentials=Credentials(user, password), auth_type=NTLM)
account = Account(address, config=config, autodiscover=False, access_type=DELEGATE)
print(json.dumps({
    'version': account.version.api_version,
    'build': str(account.version.build),
    'root': account.root.name,
    'msgFolderRoot': account.msg_folder_root.name,
    'contacts': sorted(
        [
            {
                'name': c.display_name,
                'email': [e.email for e in (c.email_addresses or [])],
                'phone': [p.phone_number for p in (c.phone_numbers or [])],
            }
            for c in account.contacts.all()
        ],
        key=lambda c: c['name'],
    ),
}))
