// The configs docs/DEPLOYING.md shows, rendered from the sources the lab runs: the ToRs' and the
// spine's BGP configs (lab/router-config.ts, FRR and BIRD) and a host's anycastd.yaml
// (lab/agent-config.ts), for two servers h1 and h2 behind tor1 and tor2, with production paths. The doc
// holds each between `<!-- generated: NAME -->` and `<!-- end generated -->`;
// test/lab/deploying-doc.test.ts fails when a block differs from its rendering.
// Rewrite the doc's blocks after changing a renderer:  node --import tsx lab/deploying-doc.ts --write
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostName } from './addressing.js';
import { LAB_AGENT_TIMINGS, renderAgentConfig } from './agent-config.js';
import { routerConfig } from './router-config.js';

export const DEPLOYING_DOC = fileURLToPath(new URL('../docs/DEPLOYING.md', import.meta.url));
/** The doc's two servers. */
export const DOC_HOSTS: readonly HostName[] = ['h1', 'h2'];
const BIRD_LOG = '/var/log/bird/bird.log';
const BLOCK = /(<!-- generated: (\S+) -->\n```\w*\n)([\s\S]*?)(```\n<!-- end generated -->)/g;

/** Every block the doc shows, by name. */
export function deployingSnippets(): Record<string, string> {
  return {
    'tor1-frr': routerConfig('tor1', DOC_HOSTS),
    'tor2-bird': routerConfig('tor2', DOC_HOSTS, BIRD_LOG),
    'spine-frr': routerConfig('spine', DOC_HOSTS),
    'h1-anycastd': renderAgentConfig(
      'h1',
      {
        config: '/etc/anycastd/anycastd.yaml',
        api: '/run/anycastd/anycastd.sock',
        drainFile: '/run/anycastd/drain/web',
        clusterKey: '/etc/anycastd/cluster.key',
      },
      LAB_AGENT_TIMINGS,
      DOC_HOSTS,
    ),
  };
}

/** The generated blocks of `markdown`, by name (their text between the fences). */
export function docBlocks(markdown: string): Map<string, string> {
  return new Map([...markdown.matchAll(BLOCK)].map((m) => [m[2]!, m[3]!]));
}

/** `markdown` with every generated block replaced by its rendering (unknown names are left as they are). */
export function renderDoc(markdown: string, snippets = deployingSnippets()): string {
  return markdown.replace(BLOCK, (whole, open: string, name: string, _body: string, close: string) =>
    name in snippets ? `${open}${snippets[name]}${close}` : whole,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write'))
    writeFileSync(DEPLOYING_DOC, renderDoc(readFileSync(DEPLOYING_DOC, 'utf8')));
  else
    for (const [name, text] of Object.entries(deployingSnippets()))
      process.stdout.write(`# ${name}\n${text}\n`);
}
