// The lab's errors: the test bed's own, apart from the product's (src/errors.ts). A stable `code` that
// tests assert on, a message naming the command or the condition, the cause kept.

export type LabErrorCode =
  | 'ERR_LAB_COMMAND' // a lab command (ip, vtysh, birdc, a daemon, a lab program) failed
  | 'ERR_LAB_TIMEOUT'; // a lab condition (session up, route count, an answer) was not reached in time

export class LabError extends Error {
  readonly code: LabErrorCode;
  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
    this.code = code;
  }
}
