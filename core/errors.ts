/**
 * Coded errors. Every error the lab raises on purpose is a LabError with a LAB_ERR_<AREA>_<WHAT> code and a
 * "Failed to X: reason. Hint." message; causes are chained with `{ cause }`.
 */
export type LabErrorCode =
  | 'LAB_ERR_SCENARIO_INVALID'
  | 'LAB_ERR_SCENARIO_READ'
  | 'LAB_ERR_SERVER_BIND'
  | 'LAB_ERR_SERVER_ALREADY_STARTED'
  | 'LAB_ERR_SERVER_NOT_LISTENING'
  | 'LAB_ERR_LAB_STATE'
  | 'LAB_ERR_FAULT_INVALID'
  | 'LAB_ERR_FAULT_NOT_FOUND'
  | 'LAB_ERR_JOURNAL_TIMEOUT'
  | 'LAB_ERR_JOURNAL_WRITE'
  | 'LAB_ERR_ADMIN_REQUEST'
  | 'LAB_ERR_ADMIN_UNAUTHORIZED'
  | 'LAB_ERR_CLI_USAGE'
  | 'LAB_ERR_NTP_DECODE'
  | 'LAB_ERR_DNS_DECODE'
  | 'LAB_ERR_NETBIOS_DECODE'
  | 'LAB_ERR_KRB5_CRYPTO'
  | 'LAB_ERR_KRB5_DECODE'
  | 'LAB_ERR_DER_DECODE'
  | 'LAB_ERR_DNS_RECORD'
  | 'LAB_ERR_PKI_STATE'
  | 'LAB_ERR_LDAP_DECODE'
  | 'LAB_ERR_DHCP_DECODE'
  | 'LAB_ERR_DHCP_UNSAFE'
  | 'LAB_ERR_NTLM_DECODE'
  | 'LAB_ERR_HTTP_STATE'
  | 'LAB_ERR_XML_DECODE'
  | 'LAB_ERR_SIP_DECODE'
  | 'LAB_ERR_ABS_DECODE'
  | 'LAB_ERR_TLS_DECODE'
  | 'LAB_ERR_PCAPNG_DECODE'
  | 'LAB_ERR_TRAINING'
  | 'LAB_ERR_DEVICE_VIEW'
  | 'LAB_ERR_NODE_VERSION'
  | 'LAB_ERR_CONTAINER'
  | 'LAB_ERR_PHONE_LDAP'

export class LabError extends Error {
  readonly code: LabErrorCode
  constructor(code: LabErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** Thrown by pure codecs only. `offset` is where in the input decoding gave up. */
export class LabDecodeError extends LabError {
  readonly offset: number
  constructor(code: LabErrorCode, message: string, offset: number, options?: ErrorOptions) {
    super(code, message, options)
    this.offset = offset
  }
}

/** One problem found in a scenario: where it is and what is wrong. */
export interface ScenarioProblem {
  readonly file: string
  readonly line: number
  readonly col: number
  /** JSON pointer into the scenario, e.g. /servers/ntp/offset */
  readonly path: string
  readonly message: string
}

export function formatProblem(p: ScenarioProblem): string {
  return `${p.file}:${p.line}:${p.col}  ${p.path || '/'}  ${p.message}`
}

export class ScenarioError extends LabError {
  readonly problems: readonly ScenarioProblem[]
  constructor(problems: readonly ScenarioProblem[], what = 'scenario') {
    const n = problems.length
    super(
      'LAB_ERR_SCENARIO_INVALID',
      `Failed to load ${what}: ${n} problem${n === 1 ? '' : 's'}.\n` + problems.map(formatProblem).join('\n'),
    )
    this.problems = problems
  }
}
