export {
  LabPki,
  ensureAuthority,
  namesFor,
  pkiDir,
  resetPki,
  storedAuthorities,
  tlsHosts,
  type ServerCertificate,
} from './pki.js'
export {
  certificateDer,
  certificatePem,
  pem,
  pkcs7Base64,
  pkcs7Der,
  signatureHash,
  thumbprint,
  type Pkcs7Armor,
} from './export.js'
export { PkiSchema, resolveLeafProfile, type PkiConfig, type LeafProfile } from './schema.js'
export { TlsContexts, labTlsServer, type LabTlsOptions } from './tls.js'
