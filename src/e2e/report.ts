// A video run for people: the terminal table (one row per pass: FPS, latency, jitter, CV, stage
// split) and the HTML report (stage split bars, instantaneous FPS over time, latency CDF). Pure.
import Table from "cli-table3";
import { htmlReport, type HtmlSection } from "../bench/html.ts";
import { empiricalCdf } from "../bench/stats.ts";
import { fmt, lineChart, stackedBarChart } from "../bench/svg.ts";
import type { E2eSummary, PassSummary } from "./e2e.ts";
import type { PassResult } from "./run.ts";

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

function passRow(p: PassSummary): (string | number)[] {
  const f = p.figures;
  const s = f.stages;
  return [
    p.paceFps !== undefined ? `${p.name} @ ${fmt(p.paceFps)} FPS` : p.name,
    f.clips,
    f.frames,
    (f.wallMs / 1000).toFixed(2),
    f.meanFps.toFixed(1),
    fmt(f.latencyMs.p50),
    fmt(f.latencyMs.p95),
    fmt(f.jitterMs),
    f.instantFpsCv.toFixed(3),
    p.realtimeFactor.toFixed(2),
    `${fmt(s.decodeMs)} / ${fmt(s.preprocessMs)} / ${fmt(s.inferMs)} (${pct(s.share.decode)} / ${pct(s.share.preprocess)} / ${pct(s.share.infer)})`,
  ];
}

const HEAD = ["pass", "clips", "frames", "wall s", "mean FPS", "p50 ms", "p95 ms", "jitter ms", "CV inst. FPS", "× real time", "decode / preprocess / infer ms"];

export function formatE2eTable(s: E2eSummary): string {
  const t = new Table({ head: HEAD, style: { head: [], border: [] } });
  for (const p of s.passes) t.push(passRow(p));
  const lines = [
    `${s.runId}: ${s.video.file} ${s.video.width}×${s.video.height} @ ${fmt(s.video.fps)} fps against ${s.url}; clips of ${s.sampling.numFrames} frames, stride ${s.sampling.stride}, hop ${s.sampling.hop}`,
    `routed (metric ${s.routing.metric}): ${Object.entries(s.routing.resolved_model_mapping).map(([k, v]) => `${k} → ${v}`).join(", ")}`,
    t.toString(),
  ];
  for (const [k, v] of Object.entries(s.ratios)) lines.push(`${k}: ${v.toFixed(3)} (wall time)`);
  return lines.join("\n");
}

export function e2eHtml(s: E2eSummary, passes: readonly PassResult[]): string {
  const sections: HtmlSection[] = [];
  sections.push({
    title: "Passes",
    notes: [
      `Routing metric ${s.routing.metric}: ${s.routing.decisions.map((d) => `${d.family} → ${d.branch} (${d.reason}${d.fallback ? `; ${d.fallback}` : ""})`).join("; ")}.`,
      `Warm-up before timing: ${s.setup.warmupRequests} requests in ${fmt(s.setup.warmupMs)} ms, ${s.setup.prompts} CLIP prompts embedded once.`,
      ...Object.entries(s.ratios).map(([k, v]) => `${k} = ${v.toFixed(3)} (wall time).`),
      ...Object.entries(s.passes[0]?.figures.definitions ?? {}).map(([k, v]) => `${k}: ${v}.`),
    ],
    table: { head: HEAD, rows: s.passes.map(passRow) },
  });
  if (s.passes.length > 0) {
    sections.push({
      title: "Stage split",
      notes: ["Sum of each stage's time over the run. In pipelined passes the stages overlap, so their sum can exceed the wall time; the sequential pass shows the true proportions."],
      charts: [
        stackedBarChart(
          s.passes.map((p) => ({ label: p.name, parts: [{ name: "decode", value: p.figures.stages.decodeMs }, { name: "preprocess", value: p.figures.stages.preprocessMs }, { name: "infer", value: p.figures.stages.inferMs }] })),
          { title: "decode / preprocess / infer (ms, summed over clips)", unit: "ms" },
        ),
        stackedBarChart(s.passes.map((p) => ({ label: p.name, parts: [{ name: "wall time", value: p.figures.wallMs }] })), { title: "wall time per pass (ms)", unit: "ms" }),
      ],
    });
  }
  if (passes.length > 0) {
    const fpsSeries = passes.map((p, i) => {
      const t = [...p.timings].sort((a, b) => a.doneAtMs - b.doneAtMs);
      return { name: s.passes[i]?.name ?? String(i), points: t.slice(1).map((x, k) => ({ x: x.doneAtMs / 1000, y: x.frames / Math.max(1e-6, (x.doneAtMs - t[k]!.doneAtMs) / 1000) })) };
    });
    const cdf = passes.map((p, i) => ({ name: s.passes[i]?.name ?? String(i), points: empiricalCdf(p.timings.map((t) => t.doneAtMs - t.readyAtMs)).map((c) => ({ x: c.x, y: c.p })) }));
    sections.push({
      title: "Stability and latency",
      charts: [
        lineChart(fpsSeries, { title: "Instantaneous FPS per clip over the run", xLabel: "time since start (s)", yLabel: "FPS" }),
        lineChart(cdf, { title: "Clip latency CDF", xLabel: "latency (ms)", yLabel: "fraction of clips", step: true, yMin: 0, yMax: 1, logX: true }),
      ],
    });
  }
  return htmlReport(`Video e2e ${s.runId}`, `${s.video.file} (${s.video.width}×${s.video.height}, ${fmt(s.video.fps)} fps) against ${s.url}; status ${s.status}${s.error ? `: ${s.error}` : ""}`, sections);
}
