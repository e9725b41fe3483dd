// A config as it may leave the agent (the control API's `config`, `anycastd plan`): plain JSON, with
// every secret replaced by a fingerprint — a peer's inline TCP MD5 password becomes "sha256:<12 hex>",
// the cluster keys their ClusterKeys fingerprint — so two views still compare equal exactly when the
// secrets are equal, and nothing in them lets a reader speak for the agent.
import { createHash } from 'node:crypto';
import type { Config } from './types.js';

const FINGERPRINT_HEX = 12;

export const secretFingerprint = (secret: string): string =>
  `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, FINGERPRINT_HEX)}`;

/**
 * The config as JSON-safe data with secrets fingerprinted. Both sides of a comparison must go through
 * it (JSON drops undefined fields and class instances keep only their public fields).
 */
export function publicView(cfg: Config): Config {
  const peers = cfg.peers.map((p) => ({
    ...p,
    password: p.password === null ? null : secretFingerprint(p.password),
  }));
  return JSON.parse(JSON.stringify({ ...cfg, peers })) as Config;
}
