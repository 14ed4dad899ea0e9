/** The NTLM client of ews-javascript-api (no types published): a third-party NTLM for tests. */
declare module '@ewsjs/ntlm-client' {
  export interface Type2Message {
    readonly challenge: Buffer
    readonly targetName: string
    readonly negotiateFlags: number
  }
  /** `NTLM <base64>` */
  export function createType1Message(workstation?: string, target?: string): string
  /** Accepts `NTLM <base64>` or the base64 alone. */
  export function decodeType2Message(message: string): Type2Message
  /** `NTLM <base64>` */
  export function createType3Message(
    type2: Type2Message,
    username: string,
    password: string,
    workstation?: string,
    target?: string,
  ): string
}
