// What one agent says on the cluster channel, read as a peer reads it (the requests are signed, so a
// plain curl gets 401): one signed poll, the reply's signature checked, the reply printed as JSON.
//   ip netns exec acdlab-…-h1 node --import tsx lab/cluster-get.ts \
//       --config <run dir>/h1/anycastd.yaml 198.51.100.13
// The config gives the key file, the port and this host's address (the source the peer admits).

import { isIPv6 } from 'node:net';
import { pollOnce } from '../src/cluster/poll-request.js';
import { loadConfig } from '../src/config/load.js';

/** Entries a printed reply may carry (a debugging read: generous, still bounded). */
const MAX_ENTRIES = 10_000;

async function main(): Promise<void> {
  const at = process.argv.indexOf('--config');
  const file = at > 0 ? process.argv[at + 1] : undefined;
  const address = process.argv.at(-1);
  if (!file || !address || address === file) {
    process.stderr.write('usage: cluster-get.ts --config FILE ADDRESS\n');
    process.exit(2);
  }
  const config = await loadConfig(file);
  if (!config.cluster.keys) throw new Error(`${file}: no cluster.key_file`);
  const local = isIPv6(address) ? config.node.host.ipv6 : config.node.host.ipv4;
  const reply = await pollOnce({
    address,
    port: config.cluster.port,
    ...(local ? { localAddress: local } : {}),
    keys: config.cluster.keys,
    since: '',
    wait: 0,
    maxEntries: MAX_ENTRIES,
  });
  process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
