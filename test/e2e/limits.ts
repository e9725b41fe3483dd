// Shared figures of the end-to-end tests.

/** Long-lived connections held per step: 200 in `make test`, ANYCASTD_E2E_CONNECTIONS to change (e.g. 1000). */
export function heldConnections(): number {
  return Number(process.env.ANYCASTD_E2E_CONNECTIONS ?? 200);
}
