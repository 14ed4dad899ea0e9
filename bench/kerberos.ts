import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomInt } from 'node:crypto'
import { checksum, decrypt, encrypt, stringToKey, type Key } from '../core/auth/krb5/crypto.js'
import {
  MsgType,
  NameType,
  PaType,
  decodeEncKdcRepPart,
  decodeKerberos,
  encodeApReq,
  encodeAuthenticator,
  encodeEncryptedData,
  encodeKdcReq,
  encodeKdcReqBody,
  encodePaEncTsEnc,
} from '../core/auth/krb5/messages.js'
import { LabClient } from '../lab/client/index.js'
import { median, result } from './report.js'
import { startLabProcess, stopProcess, which } from './process.js'

/**
 * AS+TGS exchanges per second against the lab's KDC and against MIT's krb5kdc holding the same principals
 * (alice with the same password and salt, HTTP/dc1.corp.contoso.test), side by side, alternating, N rounds
 * each. A pair is an AS-REQ with PA-ENC-TIMESTAMP (the client's key computed once) answered by an AS-REP the
 * client opens, then a TGS-REQ for the HTTP service answered by a TGS-REP it opens: what every phone's
 * sign-in and /certsrv download cost a KDC. Both over UDP on loopback, AES256.
 */
const REALM = 'CORP.CONTOSO.TEST'
const SERVICE = ['HTTP', 'dc1.corp.contoso.test']
const PASSWORD = 'Passw0rd!'

/** One worker: a socket with one request outstanding at a time. */
class Worker {
  readonly #socket: Socket
  #waiting: ((b: Buffer) => void) | undefined
  constructor(readonly port: number) {
    this.#socket = createSocket('udp4')
    this.#socket.on('message', (m) => this.#waiting?.(m))
  }
  ask(bytes: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('KDC did not answer in 5 s')), 5_000)
      this.#waiting = (b) => {
        clearTimeout(timer)
        resolve(b)
      }
      this.#socket.send(bytes, this.port, '127.0.0.1')
    })
  }
  close(): void {
    this.#socket.close()
  }
}

async function pair(w: Worker, key: Key): Promise<void> {
  const now = Date.now()
  const client = { type: NameType.principal, names: ['alice'] }
  const body = {
    options: 0x40000000,
    cname: client,
    realm: REALM,
    sname: { type: NameType.srvInst, names: ['krbtgt', REALM] },
    till: now + 36_000_000,
    nonce: randomInt(1, 0x7fffffff),
    etypes: [18],
  }
  const stamp = encodeEncryptedData({ etype: 18, cipher: encrypt(key, 1, encodePaEncTsEnc(now, 0)) })
  const as = decodeKerberos(
    await w.ask(encodeKdcReq(MsgType.asReq, [{ type: PaType.encTimestamp, value: stamp }], body)),
  )
  if (as.kind !== 'as-rep') throw new Error(`AS: ${as.kind === 'error' ? as.error.errorCode : as.kind}`)
  const session = decodeEncKdcRepPart(decrypt(key, 3, as.rep.encPart.cipher)).key
  const tgsBody = {
    options: 0x40000000,
    realm: REALM,
    sname: { type: NameType.srvInst, names: SERVICE },
    till: now + 36_000_000,
    nonce: randomInt(1, 0x7fffffff),
    etypes: [18],
  }
  // The authenticator of a TGS-REQ carries a checksum over the request body (RFC 4120 §5.4.1).
  const cksum = checksum(session, 6, encodeKdcReqBody(tgsBody))
  const authenticator = encodeAuthenticator({ crealm: REALM, cname: client, cusec: 0, ctime: now, cksum })
  const ap = encodeApReq({
    options: 0,
    ticket: as.rep.ticket,
    authenticator: { etype: session.etype, cipher: encrypt(session, 7, authenticator) },
  })
  const tgs = decodeKerberos(
    await w.ask(encodeKdcReq(MsgType.tgsReq, [{ type: PaType.tgsReq, value: ap }], tgsBody)),
  )
  if (tgs.kind !== 'tgs-rep') throw new Error(`TGS: ${tgs.kind === 'error' ? tgs.error.errorCode : tgs.kind}`)
  decodeEncKdcRepPart(decrypt(session, 8, tgs.rep.encPart.cipher))
}

/** Pairs per second with `concurrency` workers for `seconds`. */
async function rate(port: number, key: Key, seconds: number, concurrency = 8): Promise<number> {
  const workers = Array.from({ length: concurrency }, () => new Worker(port))
  const end = Date.now() + seconds * 1000
  let done = 0
  try {
    await Promise.all(
      workers.map(async (w) => {
        while (Date.now() < end) {
          await pair(w, key)
          done++
        }
      }),
    )
  } finally {
    for (const w of workers) w.close()
  }
  return done / seconds
}

/** An MIT KDC for the realm in `dir`, on `port`, with alice and the HTTP service. */
function mitKdc(dir: string, port: number): ChildProcess {
  const conf = join(dir, 'kdc.conf')
  writeFileSync(
    conf,
    `[kdcdefaults]\n  kdc_ports = ${port}\n  kdc_tcp_ports = ${port}\n[realms]\n  ${REALM} = {\n    database_name = ${join(dir, 'principal')}\n    key_stash_file = ${join(dir, 'stash')}\n    acl_file = ${join(dir, 'kadm5.acl')}\n    supported_enctypes = aes256-cts-hmac-sha1-96:normal\n    max_life = 10h\n  }\n[logging]\n  kdc = FILE:${join(dir, 'kdc.log')}\n`,
  )
  writeFileSync(join(dir, 'krb5.conf'), `[libdefaults]\n  default_realm = ${REALM}\n`)
  const env = { ...process.env, KRB5_KDC_PROFILE: conf, KRB5_CONFIG: join(dir, 'krb5.conf') }
  execFileSync('kdb5_util', ['create', '-r', REALM, '-s', '-P', 'master-pw-bench'], { env, stdio: 'ignore' })
  for (const q of [
    `addprinc -pw ${PASSWORD} +requires_preauth alice`,
    `addprinc -randkey ${SERVICE.join('/')}`,
  ])
    execFileSync('kadmin.local', ['-r', REALM, '-q', q], { env, stdio: 'ignore' })
  return spawn('krb5kdc', ['-n', '-r', REALM], { env, stdio: 'ignore' })
}

export async function kerberos(rounds = 3, seconds = 5): Promise<void> {
  for (const t of ['krb5kdc', 'kdb5_util', 'kadmin.local'])
    if (!which(t)) throw new Error(`${t} is not installed (apt-get install krb5-kdc krb5-admin-server)`)
  const dir = mkdtempSync(join(tmpdir(), 'cx700-bench-krb5-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  let peer: ChildProcess | undefined
  try {
    lab = await startLabProcess(join(dir, 'state'))
    const labPort = (await new LabClient(lab.adminUrl).endpoints()).endpoints.find(
      (e) => e.server === 'kerberos' && e.transport === 'udp',
    )!.port
    const peerPort = labPort + 1
    peer = mitKdc(dir, peerPort)
    const key = stringToKey(18, PASSWORD, `${REALM}alice`)
    await new Promise((r) => setTimeout(r, 500)) // krb5kdc opens its ports
    await rate(labPort, key, 1) // warm both
    await rate(peerPort, key, 1)
    const labRates: number[] = []
    const peerRates: number[] = []
    for (let i = 0; i < rounds; i++) {
      labRates.push(await rate(labPort, key, seconds))
      peerRates.push(await rate(peerPort, key, seconds))
    }
    const l = median(labRates)
    const p = median(peerRates)
    console.log(`lab (cx700-lab KDC, journal on): ${labRates.map(Math.round).join(', ')} AS+TGS/s`)
    console.log(`peer (MIT krb5kdc):               ${peerRates.map(Math.round).join(', ')} AS+TGS/s`)
    result('kerberos', {
      lab: Math.round(l),
      peer: Math.round(p),
      ratio: l / p,
      unit: 'AS+TGS/s',
      rounds,
      seconds,
    })
  } finally {
    if (peer) await stopProcess(peer)
    if (lab) await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
