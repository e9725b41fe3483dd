// An instance record as a test agent registers it: up in both rings on 198.51.100.<octet>.
import type { InstanceRecord } from '../../../src/cluster/etcd/record.js';

export const record = (
  node: string,
  octet: number,
  change: Partial<InstanceRecord> = {},
): InstanceRecord => ({
  node,
  host: { ipv4: `198.51.100.${octet}`, ipv6: null },
  weight: 1,
  state: 'up',
  new: true,
  established: true,
  ...change,
});
