// The Grafana dashboard (dashboards/anycastd.json) is built on the metrics anycastd really exposes:
// every anycastd_* name in its queries is one the registry serves (histograms by their _bucket series),
// every label it filters or groups by exists on that metric, and the panels do not overlap.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { projectRoot } from '../../src/native/addon.js';
import { parseExposition } from './exposition.js';
import { testConfig } from './fixture.js';

interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}

const TARGET_LABELS = new Set(['instance', 'job', 'le']);

test('the dashboard queries only metrics and labels anycastd exposes; panels do not overlap', async () => {
  const dash = JSON.parse(readFileSync(join(projectRoot(), 'dashboards/anycastd.json'), 'utf8')) as {
    panels: Panel[];
  };
  const e = parseExposition(await new AnycastdMetrics({}, { version: '0', node: 'h1' }, testConfig()).text());
  const labels = new Map<string, Set<string>>();
  for (const s of e.samples) {
    const set = labels.get(s.name) ?? new Set<string>();
    for (const l of Object.keys(s.labels)) set.add(l);
    labels.set(s.name, set);
  }
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  assert.ok(exprs.length >= 20);
  const used = new Set<string>();
  for (const expr of exprs)
    for (const m of expr.matchAll(/(anycastd_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
      const name = m[1]!;
      used.add(name);
      assert.ok(labels.has(name), `${name} in "${expr}" is not exposed`);
      for (const l of (m[3] ?? '').matchAll(/([a-z_]+)\s*(=~|!=|=)/g))
        assert.ok(TARGET_LABELS.has(l[1]!) || labels.get(name)!.has(l[1]!), `${name} has no label ${l[1]}`);
    }
  for (const group of [
    'anycastd_bgp_session_up',
    'anycastd_vip_announced',
    'anycastd_health_transitions_total',
    'anycastd_dataplane_packets_total',
    'anycastd_dataplane_flow_table_fill_ratio',
    'anycastd_ring_share_ratio',
  ])
    assert.ok(used.has(group), `the dashboard shows ${group}`);
  const cells = new Set<string>();
  for (const p of dash.panels)
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const k = `${x},${y}`;
        assert.ok(!cells.has(k), `panel "${p.title}" overlaps another at ${k}`);
        cells.add(k);
      }
});
