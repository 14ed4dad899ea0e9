export { ensureAuthority, resetPki, storedAuthorities } from './pki.js'
export { certificateDer, certificatePem, signatureHash, thumbprint } from './export.js'
