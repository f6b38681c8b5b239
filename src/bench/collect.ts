// bench:all's reading of the other benchmarks' JSON results: each becomes a list of figures (name,
// value, unit) and goals (what was asked, the value, pass or miss). Known benchmarks get an adapter
// that names their figures and goals as their issues state them; any other JSON is read generically
// (numbers under `ratios`/`seconds`, leaves named like timings or ratios, booleans under `goals`).
// Pure: parsed JSON in, rows out.

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The goal as people state it, e.g. "<= 0.65". */
  goal?: string;
  pass?: boolean;
}

export interface Collected {
  figures: Figure[];
  /** Why some of the output could not be read as figures. */
  notes: string[];
}

type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function at(j: unknown, path: string): unknown {
  let cur = j;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Json)[k];
  }
  return cur;
}

interface Row {
  path: string;
  name: string;
  unit: string;
  goal?: string;
  /** Where the benchmark states the goal's outcome itself (preferred) … */
  passPath?: string;
  /** … else how to judge the value. */
  check?: (v: number) => boolean;
}

/** Figures listed by path; a missing path is a note (the output changed shape), not a crash. */
function pick(j: unknown, rows: readonly Row[], notes: string[]): Figure[] {
  const out: Figure[] = [];
  for (const r of rows) {
    const v = num(at(j, r.path));
    if (v === undefined) {
      notes.push(`no number at ${r.path}`);
      continue;
    }
    const f: Figure = { name: r.name, value: v, unit: r.unit };
    if (r.goal) f.goal = r.goal;
    const stated = r.passPath ? at(j, r.passPath) : undefined;
    if (typeof stated === "boolean") f.pass = stated;
    else if (r.check) f.pass = r.check(v);
    out.push(f);
  }
  return out;
}

/** Figures and goals of the benchmarks whose output shape is known, by output file name. */
const ADAPTERS: Record<string, readonly Row[]> = {
  "onnx-io": [
    { path: "headerWalk.medianMs", name: "ONNX I/O, 1 GiB file: header walk", unit: "ms", goal: "< 20 ms", passPath: "goals.walkUnder20ms", check: (v) => v < 20 },
    { path: "fullDecode.medianMs", name: "ONNX I/O, 1 GiB file: full protobuf decode", unit: "ms" },
    { path: "ratio", name: "header walk / full decode", unit: "×", goal: "<= 0.01×", passPath: "goals.walkAtMost1PercentOfFull", check: (v) => v <= 0.01 },
  ],
  "synth-repo": [
    { path: "seconds.cold", name: "synth-repo cold (clone or copy + hash)", unit: "s" },
    { path: "seconds.warm", name: "synth-repo warm (nothing changed)", unit: "s", goal: "< 0.5 s, nothing written", passPath: "goals.warmUnderHalfSecond" },
    { path: "seconds.coldLink", name: "synth-repo cold --link", unit: "s" },
    { path: "seconds.cpR", name: "cp -r of the exports", unit: "s" },
    { path: "ratios.coldVsCpR", name: "synth-repo cold / cp -r", unit: "×", goal: "<= 1.1×", passPath: "goals.coldAtMost110CpR" },
    { path: "ratios.coldLinkVsCpR", name: "synth-repo cold --link / cp -r", unit: "×" },
    { path: "ratios.warmVsCpR", name: "synth-repo warm / cp -r", unit: "×" },
  ],
  "serve-overhead": [
    { path: "ms.bench_net_256P50", name: "bare conv net (~2.1 GMAC) over HTTP p50, the floor", unit: "ms" },
    { path: "ms.bench_onnx_256P50", name: "ensemble, ONNX preprocess step, p50", unit: "ms" },
    { path: "ms.bench_python_256P50", name: "ensemble, Python preprocess step, p50", unit: "ms" },
    { path: "ratios.ensembleOnnxPreprocessOverBare", name: "ensemble (ONNX preprocess) / bare model", unit: "×", goal: "<= 1.10×", check: (v) => v <= 1.1 },
    { path: "ratios.ensemblePythonPreprocessOverBare", name: "ensemble (Python preprocess) / bare model", unit: "×", goal: "<= 1.10×", check: (v) => v <= 1.1 },
    { path: "ms.requestJsonP50", name: "512² UINT8 request as JSON p50", unit: "ms" },
    { path: "ms.requestBinaryP50", name: "512² UINT8 request binary p50", unit: "ms" },
    { path: "ratios.binaryOverJson", name: "binary / JSON request", unit: "×", goal: "<= 0.2×", passPath: "goals.binaryAtMost02OfJson" },
  ],
  "preprocess-step": [
    { path: "ms.pythonP50", name: "preprocess 512², Python step p50", unit: "ms" },
    { path: "ms.onnxP50", name: "preprocess 512², ONNX step p50", unit: "ms" },
    { path: "ratios.onnxOverPython", name: "ONNX step / Python step", unit: "×", goal: "<= 0.2×", passPath: "goals.onnxAtMost02OfPython" },
  ],
  "e2e-pipeline": [
    { path: "offline.pipelined.wallS", name: "video e2e offline, pipelined", unit: "s" },
    { path: "offline.sequential.wallS", name: "video e2e offline, sequential", unit: "s" },
    { path: "ratios.pipelinedOverSequential", name: "video e2e pipelined / sequential wall time", unit: "×", goal: "<= 0.65×", passPath: "goals.pipelinedAtMost065" },
    { path: "ratios.cpuBound", name: "video e2e: lowest ratio the CPU allows (pipelined CPU s / cores / sequential wall)", unit: "×" },
    { path: "cpu.sequential.busyCores", name: "video e2e sequential: cores kept busy", unit: "cores" },
    { path: "cpu.pipelined.busyCores", name: "video e2e pipelined: cores kept busy", unit: "cores" },
    { path: "offline.pipelined.meanFps", name: "video e2e offline pipelined mean FPS", unit: "FPS" },
    { path: "offline.pipelined.p95Ms", name: "video e2e offline pipelined p95 clip latency", unit: "ms" },
    { path: "realtime.pipelined.instantFpsCv", name: "video e2e realtime: CV of instantaneous FPS", unit: "", goal: "< 0.05", passPath: "goals.realtimeCvUnder005" },
    { path: "realtime.pipelined.p95Ms", name: "video e2e realtime p95 clip latency", unit: "ms" },
    { path: "realtime.pipelined.jitterMs", name: "video e2e realtime jitter", unit: "ms" },
  ],
};

/** The adapter key of an output file: its base name without .json. */
export function benchKey(file: string): string {
  return (file.split(/[\\/]/).pop() ?? file).replace(/\.json$/i, "");
}

export function collectFigures(file: string, json: unknown): Collected {
  const notes: string[] = [];
  const rows = ADAPTERS[benchKey(file)];
  if (rows) {
    const figures = pick(json, rows, notes);
    // goals the adapter does not know (added later by the benchmark's owner) still count
    const known = new Set(rows.flatMap((r) => (r.passPath?.startsWith("goals.") ? [r.passPath.slice(6)] : [])));
    figures.push(...statedGoals(json).filter((g) => !known.has(g.goal!)));
    return { figures, notes };
  }
  return { figures: [...genericFigures(json), ...statedGoals(json)], notes: [`no adapter for ${benchKey(file)}: figures read generically`] };
}

/** `goals: { name: boolean }` as pass/miss rows. */
function statedGoals(json: unknown): Figure[] {
  const g = at(json, "goals");
  if (!g || typeof g !== "object") return [];
  return Object.entries(g as Json)
    .filter(([, v]) => typeof v === "boolean")
    .map(([k, v]) => ({ name: `goal ${k}`, value: v ? 1 : 0, unit: "", goal: k, pass: v as boolean }));
}

const FIGURE_KEY = /(ratio|speedup|ms|seconds|fps|cv|overhead|throughput|p50|p95|p99)$/i;

function genericFigures(json: unknown, prefix = "", depth = 0): Figure[] {
  if (!json || typeof json !== "object" || depth > 3) return [];
  const out: Figure[] = [];
  for (const [k, v] of Object.entries(json as Json)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (k === "goals" || k === "definitions") continue;
    const n = num(v);
    if (n !== undefined && (FIGURE_KEY.test(k) || /ratios|seconds|ms/i.test(prefix))) out.push({ name: path, value: n, unit: /ms$/i.test(k) || /(^|\.)ms$/i.test(prefix) ? "ms" : /seconds|(^|\.)s$/i.test(path) ? "s" : /ratio|ratios/i.test(path) ? "×" : "" });
    else if (v && typeof v === "object" && !Array.isArray(v)) out.push(...genericFigures(v, path, depth + 1));
  }
  return out.slice(0, 30);
}
