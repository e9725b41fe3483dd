// Tiny SVG plots for the lab benchmark's Markdown report: a cumulative distribution of samples per
// series (failover times) and grouped bars (connections broken, ours against the baseline).

const W = 560;
const H = 300;
const PAD = { l: 56, r: 16, t: 28, b: 44 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const TICKS = 5;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

function frame(title: string, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="black"/>`,
    `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${esc(yLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Empirical CDF of each series (x: value, y: share of samples ≤ x). */
export function cdfSvg(title: string, xLabel: string, series: Record<string, readonly number[]>): string {
  const all = Object.values(series).flat();
  const xMax = Math.max(1, ...all) * 1.05;
  const px = (x: number): number => PAD.l + (x / xMax) * (W - PAD.l - PAD.r);
  const py = (y: number): number => H - PAD.b - y * (H - PAD.t - PAD.b);
  const body: string[] = [];
  for (let i = 0; i <= TICKS; i++) {
    const x = (xMax * i) / TICKS;
    body.push(`<text x="${px(x)}" y="${H - PAD.b + 14}" text-anchor="middle">${Math.round(x)}</text>`);
    body.push(
      `<text x="${PAD.l - 6}" y="${py(i / TICKS) + 4}" text-anchor="end">${(i / TICKS).toFixed(1)}</text>`,
    );
  }
  Object.entries(series).forEach(([name, xs], i) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const pts = sorted.flatMap((x, k) => [
      `${px(x)},${py(k / sorted.length)}`,
      `${px(x)},${py((k + 1) / sorted.length)}`,
    ]);
    const color = COLORS[i % COLORS.length];
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    body.push(`<text x="${W - PAD.r - 150}" y="${PAD.t + 14 + 14 * i}" fill="${color}">${esc(name)}</text>`);
  });
  return frame(title, xLabel, 'share of trials', body);
}

/** One bar per (group, series) pair, grouped by group. */
export function barsSvg(
  title: string,
  yLabel: string,
  groups: Record<string, Record<string, number>>,
): string {
  const names = [...new Set(Object.values(groups).flatMap((g) => Object.keys(g)))];
  const yMax = Math.max(1, ...Object.values(groups).flatMap((g) => Object.values(g))) * 1.15;
  const py = (y: number): number => H - PAD.b - (y / yMax) * (H - PAD.t - PAD.b);
  const gw = (W - PAD.l - PAD.r) / Math.max(1, Object.keys(groups).length);
  const bw = (gw * 0.7) / Math.max(1, names.length);
  const body: string[] = [];
  Object.entries(groups).forEach(([g, vals], gi) => {
    const x0 = PAD.l + gi * gw + gw * 0.15;
    body.push(
      `<text x="${x0 + (bw * names.length) / 2}" y="${H - PAD.b + 14}" text-anchor="middle">${esc(g)}</text>`,
    );
    names.forEach((n, i) => {
      const v = vals[n] ?? 0;
      const x = x0 + i * bw;
      body.push(
        `<rect x="${x}" y="${py(v)}" width="${bw - 2}" height="${H - PAD.b - py(v)}" fill="${COLORS[i % COLORS.length]}"/>`,
      );
      body.push(`<text x="${x + bw / 2}" y="${py(v) - 3}" text-anchor="middle">${v}</text>`);
    });
  });
  names.forEach((n, i) => {
    const color = COLORS[i % COLORS.length];
    body.push(`<text x="${W - PAD.r - 150}" y="${PAD.t + 14 + 14 * i}" fill="${color}">${esc(n)}</text>`);
  });
  return frame(title, '', yLabel, body);
}
