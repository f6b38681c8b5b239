// bench:all: every `npm run bench:*` of package.json in one go, within a time budget (10 minutes on
// this 2-core machine), then one summary: benchmarks/out/summary-<date>.json and a table of every
// figure and ratio with its goal and pass/miss. Each benchmark runs as its own process (so one that
// crashes or overruns costs only itself) and writes its own JSON under benchmarks/out/; this reads
// those files, it does not re-measure.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import Table from "cli-table3";
import { command, runCli } from "../src/cli.ts";
import { UserError } from "../src/errors.ts";
import { collectFigures, type Figure } from "../src/bench/collect.ts";
import { runId, writeJsonAtomic } from "../src/bench/run-store.ts";
import { fmt } from "../src/bench/svg.ts";

const ROOT = path.join(import.meta.dirname, "..");
const load = () => Math.round(loadavg()[0]! * 100) / 100;
const OUT = path.join(ROOT, "benchmarks", "out");

/** Arguments that keep each known benchmark's share of the budget, and the file it writes. */
const KNOWN: Record<string, { args: string[]; output?: string }> = {
  "bench:onnx-io": { args: [], output: "onnx-io.json" },
  "bench:synth": { args: ["--runs", "3"], output: "synth-repo.json" },
  "bench:serve": { args: [], output: "serve-overhead.json" },
  "bench:preprocess": { args: [], output: "preprocess-step.json" },
  "bench:e2e": { args: [], output: "e2e-pipeline.json" },
};
/** Run first: the cheap and the file-system ones; the server and video ones after. */
const ORDER = ["bench:onnx-io", "bench:synth", "bench:serve", "bench:preprocess", "bench:e2e"];

interface BenchOutcome {
  script: string;
  args: string[];
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
  /** 1-minute load average before and after: other work on the machine skews every figure. */
  loadAverage: [number, number];
  outputs: string[];
  machineReadable: boolean;
  figures: (Figure & { file: string })[];
  notes: string[];
}

function benchScripts(only?: string[]): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const all = Object.keys(pkg.scripts ?? {}).filter((s) => s.startsWith("bench:") && s !== "bench:all");
  if (only) {
    const unknown = only.filter((s) => !all.includes(s));
    if (unknown.length) throw new UserError({ field: "--only", message: `no such script: ${unknown.join(", ")}`, hint: `bench scripts: ${all.join(", ")}` }, 2);
  }
  const chosen = only ?? all;
  const rank = (s: string) => (ORDER.includes(s) ? ORDER.indexOf(s) : ORDER.length);
  return chosen.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** JSON files under benchmarks/out (two levels) changed since `since` (ms epoch). */
function jsonWrittenSince(since: number): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth < 2) walk(p, depth + 1);
      else if (st.isFile() && n.endsWith(".json") && !n.startsWith("summary-") && st.mtimeMs >= since) out.push(p);
    }
  };
  walk(OUT, 0);
  return out;
}

function runScript(script: string, args: string[], budgetMs: number): Promise<{ code: number | null; timedOut: boolean; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let timedOut = false;
    const relay = (stream: NodeJS.WriteStream) => (d: Buffer) => {
      const text = d.toString("utf8");
      if (stream === process.stdout) stdout += text;
      stream.write(text.replace(/^(?=.)/gm, `  [${script}] `));
    };
    child.stdout.on("data", relay(process.stdout));
    child.stderr.on("data", relay(process.stderr));
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 5000).unref();
    }, budgetMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      kill("SIGKILL"); // anything the script left behind in its group
      resolve({ code, timedOut, stdout });
    });
  });
}

async function collect(script: string, files: string[]): Promise<Pick<BenchOutcome, "machineReadable" | "figures" | "notes">> {
  const notes: string[] = [];
  const figures: BenchOutcome["figures"] = [];
  let readable = false;
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      notes.push(`${path.relative(ROOT, file)} is not valid JSON (${(e as Error).message})`);
      continue;
    }
    readable = true;
    const c = collectFigures(file, json);
    notes.push(...c.notes.map((n) => `${path.relative(ROOT, file)}: ${n}`));
    figures.push(...c.figures.map((f) => ({ ...f, file: path.relative(ROOT, file) })));
  }
  if (files.length === 0) notes.push(`${script} wrote no JSON under benchmarks/out/: its output is not machine-readable`);
  return { machineReadable: readable, figures, notes };
}

const program = command("bench:all", "Run every npm run bench:* in one go within a time budget and write one summary with every figure, goal and pass/miss.")
  .option("--budget-s <seconds>", "time for all of them together", "600")
  .option("--only <scripts>", "run only these bench:* scripts (comma-separated)");

await runCli(async () => {
  program.parse();
  const o = program.opts<{ budgetS: string; only?: string }>();
  const budgetS = Number(o.budgetS);
  if (!(budgetS > 0)) throw new UserError({ field: "--budget-s", message: `--budget-s must be a positive number, got '${o.budgetS}'` }, 2);
  const scripts = benchScripts(o.only?.split(",").map((s) => s.trim()).filter(Boolean));
  await mkdir(OUT, { recursive: true });
  const started = Date.now();
  const deadline = started + budgetS * 1000;
  const outcomes: BenchOutcome[] = [];
  for (const script of scripts) {
    const known = KNOWN[script];
    const args = known?.args ?? [];
    const left = deadline - Date.now();
    if (left < 5000) {
      outcomes.push({ script, args, exitCode: null, timedOut: true, seconds: 0, loadAverage: [load(), load()], outputs: [], machineReadable: false, figures: [], notes: ["not run: the budget was spent"] });
      continue;
    }
    process.stdout.write(`\n== ${script} ${args.join(" ")} (${Math.round(left / 1000)} s of budget left)\n`);
    const t0 = Date.now();
    const load0 = load();
    const r = await runScript(script, args, left);
    const seconds = (Date.now() - t0) / 1000;
    const written = jsonWrittenSince(t0 - 1000);
    const outputs = known?.output ? written.filter((f) => path.basename(f) === known.output) : written;
    const c = await collect(script, outputs);
    outcomes.push({ script, args, exitCode: r.code, timedOut: r.timedOut, seconds, loadAverage: [load0, load()], outputs: outputs.map((f) => path.relative(ROOT, f)), ...c });
  }

  const figures = outcomes.flatMap((b) => b.figures.map((f) => ({ script: b.script, ...f })));
  const goals = figures.filter((f) => f.pass !== undefined);
  const summary = {
    kind: "triton-deploy.bench-all",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "?", node: process.version, platform: `${process.platform} ${process.arch}` },
    budgetS,
    totalSeconds: (Date.now() - started) / 1000,
    benches: outcomes,
    goals: { met: goals.filter((g) => g.pass).length, missed: goals.filter((g) => !g.pass).map((g) => `${g.script}: ${g.name} = ${fmt(g.value)} (goal ${g.goal})`) },
  };
  const file = path.join(OUT, `summary-${runId("all").slice(4)}.json`);
  await writeJsonAtomic(file, summary);

  const t = new Table({ head: ["benchmark", "figure", "value", "goal", "result"], style: { head: [], border: [] }, colWidths: [18, 52, 14, 24, 8], wordWrap: true });
  for (const b of outcomes) {
    if (b.figures.length === 0) t.push([b.script, b.notes.join("; ") || "no figures", "", "", b.timedOut ? "TIMEOUT" : b.exitCode === 0 ? "" : "FAILED"]);
    for (const f of b.figures) t.push([b.script, f.name, `${fmt(f.value)}${f.unit ? ` ${f.unit}` : ""}`, f.goal ?? "", f.pass === undefined ? "" : f.pass ? "pass" : "MISS"]);
  }
  process.stdout.write(`\n${t.toString()}\n`);
  for (const b of outcomes) {
    const state = b.timedOut ? "TIMED OUT" : b.exitCode === 0 ? "ok" : `exit ${b.exitCode}`;
    process.stdout.write(`${b.script}: ${state} in ${b.seconds.toFixed(1)} s, load average ${b.loadAverage.join(" → ")}${b.outputs.length ? ` → ${b.outputs.join(", ")}` : ""}${b.notes.length ? ` (${b.notes.join("; ")})` : ""}\n`);
  }
  process.stdout.write(`total ${summary.totalSeconds.toFixed(0)} s of ${budgetS} s; goals met ${summary.goals.met}, missed ${summary.goals.missed.length}\nwrote ${path.relative(ROOT, file)}\n`);
  const failed = outcomes.some((b) => b.timedOut || (b.exitCode !== 0 && b.figures.length === 0));
  return failed || summary.goals.missed.length > 0 ? 1 : 0;
});
