// The data plane's capacities a config is checked against (semantics.ts), so `anycastd check` and a
// config load refuse what the agent could not start with. They are bpf/steer.h's MAX_VIPS and
// MAX_SERVICES (src/steer/layout.ts mirrors them; test/config/limits.test.ts holds the three together):
// the config layer may not import the steering layer.

/** VIP/port entries: every service's VIPs × its ports, summed (the program's vip_stats entries). */
export const MAX_VIP_ENTRIES = 16_384;
/** Services (the program's services entries). */
export const MAX_SERVICES = 16;

/** The VIP/port entries a set of services needs: one per VIP and port of each. */
export const vipEntryCount = (services: readonly { vips: readonly unknown[]; ports: readonly unknown[] }[]) =>
  services.reduce((n, s) => n + s.vips.length * s.ports.length, 0);
