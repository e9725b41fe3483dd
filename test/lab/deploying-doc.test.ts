// docs/DEPLOYING.md shows the configs the lab runs: each generated block equals its rendering from
// lab/router-config.ts and lab/agent-config.ts (lab/deploying-doc.ts), and every rendering is shown.
// The tor1 block is the lab's tor1 config for two hosts, the same function topology.ts starts FRR with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  DEPLOYING_DOC,
  DOC_HOSTS,
  deployingSnippets,
  docBlocks,
  renderDoc,
} from '../../lab/deploying-doc.js';
import { routerConfig } from '../../lab/router-config.js';

test("the doc's ToR, spine and host configs are the generator's output", () => {
  const doc = readFileSync(DEPLOYING_DOC, 'utf8');
  const blocks = docBlocks(doc);
  const snippets = deployingSnippets();
  assert.deepEqual([...blocks.keys()].sort(), Object.keys(snippets).sort(), 'every block, and only these');
  for (const [name, text] of Object.entries(snippets))
    assert.equal(blocks.get(name), text, `${name}: run \`node --import tsx lab/deploying-doc.ts --write\``);
  assert.equal(renderDoc(doc), doc);
  assert.equal(snippets['tor1-frr'], routerConfig('tor1', DOC_HOSTS), "the lab's own tor1 renderer");
  for (const must of ['bgp bestpath as-path multipath-relax', 'maximum-paths', 'ge 32', 'ge 128'])
    assert.ok(snippets['tor1-frr']!.includes(must), `tor1: ${must}`);
  for (const must of ['merge paths on', '{32,32}', '{128,128}'])
    assert.ok(snippets['tor2-bird']!.includes(must), `tor2: ${must}`);
  assert.ok(snippets['spine-frr']!.includes('default-originate'), 'the spine originates the default');
});
