// The agent's log as the cluster writes to it: a level, a kebab-case event and its fields (src/agent/log.ts
// makes the records). Lines a peer can repeat go through a LimitedLog (src/log/limited-log.ts) first.

export type ClusterLog = (
  level: 'info' | 'warn' | 'error',
  event: string,
  fields: Record<string, unknown>,
) => void;
