// Every error anycastd raises, in one place: a stable `code` that tests and scripts assert on,
// and the context that says what was being attempted. Modules add their own codes here
// (append to the union and, if needed, a subclass); they never throw a bare Error or a bare number.

/** Stable, documented error codes of anycastd itself (system errors carry their errno name instead). */
export type AnycastdErrorCode =
  | 'ERR_NATIVE_UNAVAILABLE' // the native addon could not be loaded
  | 'ERR_INVALID_ARGUMENT' // an API was called with a value outside its contract
  | 'ERR_CONFIG' // a configuration file is invalid (see ConfigError)
  | 'ERR_BPF_OBJECT' // a BPF object has no such program/map/variable, or is in the wrong state
  | 'ERR_NOT_SUPPORTED' // the running kernel lacks a needed feature
  | 'ERR_FLOW_TABLE' // the kernel refused to make the flow table of the configured size (memory)
  | 'ERR_PIN_LAYOUT' // pinned maps of a layout this program neither adopts nor migrates (nothing was changed)
  | 'ERR_BGP_MESSAGE' // a BGP message could not be decoded (see BgpCodecError: NOTIFICATION code/subcode, RFC 7606 action)
  | 'ERR_BGP_ENCODE' // a BGP message could not be encoded (value out of range, message too long)
  | 'ERR_API_REQUEST' // the control API refused a request (see ApiError in src/api/types.ts: its apiCode)
  | 'ERR_API_UNREACHABLE' // the agent's control socket cannot be reached (not running, wrong path, no permission)
  | 'ERR_CLUSTER_REPLY'; // a cluster peer's reply was dropped unapplied (see RejectedReply in src/cluster/report.ts: its reason)

/** Base class: every error anycastd throws is one of these. */
export class AnycastdError extends Error {
  readonly code: string;
  constructor(code: AnycastdErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A failed system call (made by the native addon or by Node), with the errno name as `code`
 * ('EPERM', 'ENODEV', ...), the numeric `errno`, the `syscall` or library call that failed, and
 * `attempt`, what anycastd was doing ("attach xdp to veth0").
 */
export class SystemError extends AnycastdError {
  readonly errno: number;
  readonly syscall: string;
  readonly attempt: string;
  constructor(code: string, errno: number, syscall: string, attempt: string, detail?: string) {
    super(code, `${attempt}: ${syscall} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.errno = errno;
    this.syscall = syscall;
    this.attempt = attempt;
  }
}

/** One problem in a config file, located for the operator (see src/config/issues.ts). */
export interface ConfigIssue {
  file: string;
  /** 1-based line and column; 0 when the problem is not in the text (an unreadable file). */
  line: number;
  column: number;
  /** Key path such as `services[0].checks[1].timeout`; "" for the document itself. */
  path: string;
  /** What the key must hold, e.g. `a duration such as "250ms", "2s" or "1m"`. */
  expected: string;
  /** What the file holds there, e.g. `"fast" (a string)` or `nothing`. */
  found: string;
  /** Stable kind of the problem, for scripts (`anycastd check --json`): CONFIG_ISSUE_CODES. */
  code?: ConfigIssueCode;
}

/** The kinds of config issue, as `check --json` names them. */
export const CONFIG_ISSUE_CODES = [
  'CONFIG_UNREADABLE', // the file cannot be read
  'CONFIG_YAML', // not valid YAML
  'CONFIG_ALIAS_LIMIT', // aliases that expand without bound ("billion laughs")
  'CONFIG_UNKNOWN_KEY', // a key the schema does not know
  'CONFIG_TYPE', // a value of the wrong type or out of range
  'CONFIG_RULE', // a rule across fields (families, unique names, timer relations)
  'CONFIG_HOST', // something the file names is missing on this host (account, key file)
] as const;
export type ConfigIssueCode = (typeof CONFIG_ISSUE_CODES)[number];

/** `file:line:column: path: expected X, found Y` */
export function formatConfigIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path === '' ? '' : `${i.path}: `}expected ${i.expected}, found ${i.found}`;
}

/** An invalid config file (code ERR_CONFIG): every issue found, one per line of the message. */
export class ConfigError extends AnycastdError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super('ERR_CONFIG', issues.map(formatConfigIssue).join('\n'));
    this.issues = issues;
  }
}
