// The config layer's public surface: load/check a file, diff two configs, hold the running one.

export { type ConfigDiff, diffConfig, type PeerChange, type ServiceChange } from './diff.js';
export { parseDuration } from './duration.js';
export { type CheckResult, check, loadConfig, parseConfig } from './load.js';
export { ConfigStore, type ReloadResult } from './reload.js';
export { DEFAULT_CONFIG_PATH } from './schema.js';
export type * from './types.js';
