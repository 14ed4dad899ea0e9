import { encrypt, randomKey, type Key } from '../../core/auth/krb5/crypto.js'
import {
  NameType,
  encodeApReq,
  encodeAuthenticator,
  encodeEncTicketPart,
} from '../../core/auth/krb5/messages.js'
import type { KerberosRealm } from '../../core/auth/krb5/realm.js'

/**
 * An AP-REQ as a client holding a ticket from the lab's KDC would send it: the ticket sealed in the service
 * account's key (as the KDC seals it), the authenticator in its session key, with a subkey when asked.
 */
export function apReqFor(
  realm: KerberosRealm,
  spn: string,
  o: { now: number; ctime?: number; mutual?: boolean; subkey?: Key; user?: string },
): Uint8Array {
  const session = randomKey(18)
  const cname = { type: NameType.principal, names: [o.user ?? 'alice'] }
  const sname = { type: NameType.srvInst, names: spn.split('/') }
  const service = realm.find(sname) ?? { name: sname, kind: 'service' as const, account: spn }
  const part = encodeEncTicketPart({
    flags: 0,
    key: session,
    crealm: realm.name,
    cname,
    authtime: o.now,
    endtime: o.now + 3_600_000,
  })
  const ticket = {
    realm: realm.name,
    sname,
    encPart: { etype: 18, kvno: 2, cipher: encrypt(realm.keyOf(service, 18), 2, part) },
  }
  const authenticator = encodeAuthenticator({
    crealm: realm.name,
    cname,
    cusec: Math.floor(Math.random() * 999_999),
    ctime: o.ctime ?? o.now,
    ...(o.subkey ? { subkey: o.subkey } : {}),
  })
  return encodeApReq({
    options: o.mutual === false ? 0 : 1 << 29,
    ticket,
    authenticator: { etype: 18, cipher: encrypt(session, 11, authenticator) },
  })
}
