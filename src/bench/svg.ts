// Inline SVG charts for the self-contained HTML reports: horizontal bars (with percentile marks),
// stacked bars (stage splits) and line charts (CDFs, FPS over time). Strings in, a string out; no
// library, no script, so a report opens from disk in any browser and diffs as text.

// Tableau 20: ten hues, each dark then light, so up to 20 series stay apart.
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#499894", "#86bcb6", "#f1ce63", "#d37295", "#fabfd2", "#d4a6c8"];

export function color(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Rounded numbers for labels: 3 significant digits, no exponent for ordinary values. */
export function fmt(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** A tick label: the round number as it is (50, 0.2, 1500), no padding zeros. */
function tick(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** About `count` round tick values from at or below `lo` up to the first at or above `hi`. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const last = Math.ceil(hi / step - 1e-9) * step;
  for (let v = Math.floor(lo / step + 1e-9) * step; v <= last + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`;
}

function frame(width: number, height: number, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}">
<title>${escapeXml(title)}</title>${text(8, 16, title, 'font-size="13" font-weight="bold"')}
${body}
</svg>`;
}

export interface BarRow {
  label: string;
  value: number;
  /** Ticks drawn on the bar's row, e.g. p95 and p99. */
  marks?: { name: string; value: number }[];
  /** Bars of one group share a colour (e.g. a model family). */
  group?: string;
}

/** One horizontal bar per row, value labelled, optional marks (drawn as ticks) on the same scale. */
export function barChart(rows: readonly BarRow[], o: { title: string; unit: string; width?: number }): string {
  const width = o.width ?? 760;
  const labelW = Math.min(260, 12 + 7 * Math.max(4, ...rows.map((r) => r.label.length)));
  const rowH = 18;
  const top = 30;
  const plotW = width - labelW - 90;
  const max = Math.max(1e-9, ...rows.flatMap((r) => [r.value, ...(r.marks ?? []).map((m) => m.value)]));
  const ticks = niceTicks(0, max);
  const scaleMax = Math.max(max, ticks.at(-1) ?? max);
  const x = (v: number) => labelW + (v / scaleMax) * plotW;
  const groups = [...new Set(rows.map((r) => r.group ?? ""))];
  const markNames = [...new Set(rows.flatMap((r) => (r.marks ?? []).map((m) => m.name)))];
  const parts: string[] = [];
  const axisY = top + rows.length * rowH + 4;
  for (const t of ticks) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${top - 4}" x2="${x(t).toFixed(1)}" y2="${axisY}" stroke="#ddd"/>`, text(x(t), axisY + 12, tick(t), 'text-anchor="middle" fill="#555"'));
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const c = color(groups.indexOf(r.group ?? ""));
    parts.push(text(labelW - 6, y + 12, r.label, 'text-anchor="end"'));
    parts.push(`<rect x="${labelW}" y="${y + 2}" width="${Math.max(0.5, x(r.value) - labelW).toFixed(1)}" height="${rowH - 5}" fill="${c}"><title>${escapeXml(`${r.label}: ${fmt(r.value)} ${o.unit}`)}</title></rect>`);
    for (const m of r.marks ?? []) {
      const k = markNames.indexOf(m.name);
      parts.push(`<line x1="${x(m.value).toFixed(1)}" y1="${y + 1}" x2="${x(m.value).toFixed(1)}" y2="${y + rowH - 2}" stroke="#222" stroke-width="${k === 0 ? 2 : 1}" stroke-dasharray="${k === 0 ? "" : "3,2"}"><title>${escapeXml(`${m.name} ${fmt(m.value)} ${o.unit}`)}</title></line>`);
    }
    const right = Math.max(x(r.value), ...(r.marks ?? []).map((m) => x(m.value)));
    parts.push(text(right + 4, y + 12, `${fmt(r.value)}`, 'fill="#333"'));
  });
  const legend = markNames.length ? `bar = value, ticks: ${markNames.join(", ")} (${o.unit})` : `(${o.unit})`;
  parts.push(text(labelW, axisY + 26, legend, 'fill="#555"'));
  return frame(width, axisY + 34, o.title, parts.join("\n"));
}

export interface StackRow {
  label: string;
  parts: { name: string; value: number }[];
}

/** One horizontal bar per row, split into named parts (the same names share a colour across rows). */
export function stackedBarChart(rows: readonly StackRow[], o: { title: string; unit: string; width?: number }): string {
  const width = o.width ?? 760;
  const labelW = 150;
  const rowH = 24;
  const top = 48;
  const plotW = width - labelW - 80;
  const names = [...new Set(rows.flatMap((r) => r.parts.map((p) => p.name)))];
  const max = Math.max(1e-9, ...rows.map((r) => r.parts.reduce((s, p) => s + p.value, 0)));
  const parts: string[] = [];
  names.forEach((n, i) => {
    parts.push(`<rect x="${8 + i * 120}" y="24" width="10" height="10" fill="${color(i)}"/>`, text(22 + i * 120, 33, n));
  });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    let at = labelW;
    parts.push(text(labelW - 6, y + 14, r.label, 'text-anchor="end"'));
    for (const p of r.parts) {
      const w = (p.value / max) * plotW;
      parts.push(`<rect x="${at.toFixed(1)}" y="${y + 2}" width="${Math.max(0, w).toFixed(1)}" height="${rowH - 6}" fill="${color(names.indexOf(p.name))}"><title>${escapeXml(`${r.label} ${p.name}: ${fmt(p.value)} ${o.unit}`)}</title></rect>`);
      at += w;
    }
    parts.push(text(at + 4, y + 14, `${fmt(r.parts.reduce((s, p) => s + p.value, 0))} ${o.unit}`, 'fill="#333"'));
  });
  return frame(width, top + rows.length * rowH + 10, o.title, parts.join("\n"));
}

export interface Series {
  name: string;
  points: readonly { x: number; y: number }[];
}

/** Lines over a shared x/y scale; `step` draws a staircase (for CDFs); `logX` for latencies spanning decades. */
export function lineChart(series: readonly Series[], o: { title: string; xLabel: string; yLabel: string; width?: number; height?: number; logX?: boolean; step?: boolean; yMin?: number; yMax?: number }): string {
  const width = o.width ?? 760;
  const height = o.height ?? 320;
  const left = 56;
  const right = 170;
  const top = 30;
  const bottom = 40;
  const pts = series.flatMap((s) => s.points);
  const logX = o.logX === true && pts.length > 0 && pts.every((p) => p.x > 0);
  const tx = (v: number) => (logX ? Math.log10(v) : v);
  const xs = pts.map((p) => tx(p.x));
  let xLo = xs.length ? Math.min(...xs) : 0;
  let xHi = xs.length ? Math.max(...xs) : 1;
  if (xHi === xLo) [xLo, xHi] = [xLo - 0.5, xHi + 0.5];
  const yLo = o.yMin ?? Math.min(0, ...pts.map((p) => p.y));
  let yHi = o.yMax ?? Math.max(1e-9, ...pts.map((p) => p.y));
  if (yHi === yLo) yHi = yLo + 1;
  const X = (v: number) => left + ((tx(v) - xLo) / (xHi - xLo)) * (width - left - right);
  const Y = (v: number) => top + (1 - (v - yLo) / (yHi - yLo)) * (height - top - bottom);
  const parts: string[] = [];
  const inside = (v: number, lo: number, hi: number) => v >= lo - 1e-9 * Math.abs(hi - lo) && v <= hi + 1e-9 * Math.abs(hi - lo);
  const xTicks = logX ? decadeTicks(xLo, xHi) : niceTicks(xLo, xHi).filter((t) => inside(t, xLo, xHi));
  for (const t of xTicks) {
    const px = X(t);
    parts.push(`<line x1="${px.toFixed(1)}" y1="${top}" x2="${px.toFixed(1)}" y2="${height - bottom}" stroke="#eee"/>`, text(px, height - bottom + 14, tick(t), 'text-anchor="middle" fill="#555"'));
  }
  for (const t of niceTicks(yLo, yHi, 4).filter((v) => inside(v, yLo, yHi))) {
    parts.push(`<line x1="${left}" y1="${Y(t).toFixed(1)}" x2="${width - right}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`, text(left - 4, Y(t) + 4, tick(t), 'text-anchor="end" fill="#555"'));
  }
  parts.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d: string[] = [];
    s.points.forEach((p, k) => {
      if (k === 0) d.push(`M${X(p.x).toFixed(1)},${Y(o.step ? 0 : p.y).toFixed(1)}`);
      if (o.step) d.push(`L${X(p.x).toFixed(1)},${Y(k === 0 ? 0 : s.points[k - 1]!.y).toFixed(1)}`);
      d.push(`L${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`);
    });
    parts.push(`<path d="${d.join(" ")}" fill="none" stroke="${color(i)}" stroke-width="1.6"><title>${escapeXml(s.name)}</title></path>`);
    parts.push(`<rect x="${width - right + 10}" y="${top + i * 15}" width="10" height="10" fill="${color(i)}"/>`, text(width - right + 24, top + i * 15 + 9, s.name));
  });
  parts.push(text((left + width - right) / 2, height - 6, o.xLabel + (logX ? " (log scale)" : ""), 'text-anchor="middle"'));
  parts.push(text(12, (top + height - bottom) / 2, o.yLabel, `text-anchor="middle" transform="rotate(-90 12 ${((top + height - bottom) / 2).toFixed(1)})"`));
  return frame(width, height, o.title, parts.join("\n"));
}

/** 1, 2, 5 × 10^k ticks inside [10^lo, 10^hi] for a log axis given in log10 units. */
function decadeTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      const l = Math.log10(v);
      if (l >= lo - 1e-9 && l <= hi + 1e-9) out.push(Number(v.toPrecision(6)));
    }
  }
  return out.length ? out : [10 ** lo];
}
