import type { FastifyPluginAsync } from 'fastify'
import { certificatePem, signatureHash } from '../../../certs/export.js'
import type { x509 } from '../../../certs/issue.js'
import type { Lab } from '../../runtime.js'

const describe = (c: x509.X509Certificate) => ({
  subject: c.subject,
  issuer: c.issuer,
  serial: c.serialNumber,
  notBefore: c.notBefore.toISOString(),
  notAfter: c.notAfter.toISOString(),
  signature: signatureHash(c),
  pem: certificatePem(c),
})

/** `GET /pki`: the lab PKI as a QA engineer wants to see it, certificates only, never a private key. */
export const pkiRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/pki', async () => ({
    chain: lab.pki.chain.map(describe),
    servers: lab.pki.servers.map((s) => ({
      host: s.host,
      names: s.dnsNames,
      addresses: s.ipAddresses,
      profile: s.profile,
      certificate: describe(s.certificate),
    })),
  }))
}
