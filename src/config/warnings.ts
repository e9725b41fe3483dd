// What `anycastd check` warns about in a valid config: settings that work but leave something open, each
// a line naming the key. The agent logs the same facts when it starts.

import type { Config } from './types.js';

/** Ports below this need privilege to bind (CAP_NET_BIND_SERVICE). */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/** Whether any service has an instance on another host (the cluster channel has someone to talk to). */
export function hasRemoteInstances(cfg: Config): boolean {
  const own = new Set([cfg.node.host.ipv4, cfg.node.host.ipv6].filter((a) => a !== null));
  return cfg.services.some((s) =>
    s.instances.some(
      (i) => i.id !== s.localInstanceId && !own.has(i.host.ipv4 ?? '') && !own.has(i.host.ipv6 ?? ''),
    ),
  );
}

/** One warning: a stable code, the key it is about, and what it leaves open. */
export interface ConfigWarning {
  code: 'CLUSTER_KEY_FILE_UNSET' | 'CLUSTER_PORT_UNPRIVILEGED' | 'CLUSTER_ETCD_INSTANCES_IGNORED';
  path: string;
  message: string;
}

/** The warnings of a valid config (empty: nothing to say). */
export function configWarningList(cfg: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const c = cfg.cluster;
  if (c.backend === 'etcd') {
    // the mesh's endpoint and keys are not used; the other hosts' instances come from the store
    cfg.services.forEach((s, i) => {
      if (s.instances.some((x) => x.id !== s.localInstanceId))
        out.push({
          code: 'CLUSTER_ETCD_INSTANCES_IGNORED',
          path: `services[${i}].instances`,
          message:
            "lists other hosts' instances: with cluster.backend etcd only this host's is used, the others " +
            'register in etcd (the list may be omitted)',
        });
    });
    return out;
  }
  if (!c.enabled) return out;
  if (c.keyFile === null && hasRemoteInstances(cfg))
    out.push({
      code: 'CLUSTER_KEY_FILE_UNSET',
      path: 'cluster.key_file',
      message:
        'not set, so the agents exchange no reports (the channel is authenticated or off): ' +
        "other hosts' drains and failures are seen by this host's own checks only",
    });
  if (c.port >= FIRST_UNPRIVILEGED_PORT)
    out.push({
      code: 'CLUSTER_PORT_UNPRIVILEGED',
      path: 'cluster.port',
      message:
        `${c.port} is not privileged (< ${FIRST_UNPRIVILEGED_PORT}): another local user can listen ` +
        'on it while the agent is down (its replies are still refused without the key)',
    });
  return out;
}

/** `path: text` lines for `check` (empty: nothing to say). */
export function configWarnings(cfg: Config): string[] {
  return configWarningList(cfg).map((w) => `${w.path}: ${w.message}`);
}
