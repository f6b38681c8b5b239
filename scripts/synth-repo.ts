// npm run synth-repo: model specs + ONNX exports → a Triton model repository.
import { Option } from "commander";
import { command, formatBytes, runCli } from "../src/cli.ts";
import { UserError } from "../src/errors.ts";
import type { ApplyReport } from "../src/repo/apply.ts";
import type { RepoPlan } from "../src/repo/files.ts";
import type { Progress } from "../src/repo/hash.ts";
import { profileSelection } from "../src/repo/profile-selection.ts";
import { synthRepo } from "../src/repo/synth.ts";

interface Flags {
  specs: string;
  onnxRoot: string;
  out: string;
  profile?: string;
  measured?: string;
  preprocess: "python" | "onnx";
  link: boolean;
  copy: boolean;
  dryRun: boolean;
  quiet: boolean;
}

const program = command("synth-repo", "Write a validated Triton model repository from the model specs and ONNX exports.")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--onnx-root <dir>", "root of the ONNX exports (env ONNX_ROOT)", process.env.ONNX_ROOT ?? "models/optimized")
  .option("--out <dir>", "repository to write", "triton/models")
  .option("--profile <name>", "only the branches this GPU profile's plan selects (model-specs/profiles/<name>.yaml)")
  .option("--measured <file>", "with --profile: measured VRAM per model (from npm run bench) instead of the specs' estimates")
  .addOption(new Option("--preprocess <form>", "preprocess steps as Python backend models or ONNX graphs").choices(["python", "onnx"]).default("python"))
  .option("--link", "hard-link the ONNX exports instead of cloning or copying them (an in-place re-export then changes the repository)", false)
  .addOption(new Option("--copy", "the default since exports are cloned or copied; kept so old scripts run").default(false).hideHelp())
  .option("--dry-run", "validate and print the plan, write nothing", false)
  .option("--quiet", "print only the summary", false);

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  if (f.link && f.copy) throw new UserError({ field: "--link", message: "--link and --copy exclude each other", hint: "drop --copy: exports are cloned or copied unless --link is given" }, 2);
  if (f.copy) console.log("note: --copy is the default now (exports are cloned where the filesystem can, else copied); the flag changes nothing");
  const started = performance.now();
  const result = await synthRepo({
    specsDir: f.specs,
    onnxRoot: f.onnxRoot,
    outDir: f.out,
    preprocess: f.preprocess,
    link: f.link,
    dryRun: f.dryRun,
    progress: progressPrinter(),
    ...(f.profile ? { select: profileSelection(f.specs, f.profile, f.measured) } : {}),
  });
  if (!result.report) {
    printPlan(result.plan, f.link);
    return 0;
  }
  printReport(result.plan, result.report, f.quiet, performance.now() - started);
  return 0;
});

function printPlan(plan: RepoPlan, link: boolean): void {
  console.log(`dry run: ${plan.models.length} models, ${plan.files.length} files (nothing written)`);
  for (const f of plan.files) console.log(`  ${f.kind === "content" ? "write" : link ? "link " : "copy "} ${f.path}${f.kind === "source" ? ` ← ${f.source}` : ""}`);
}

function printReport(plan: RepoPlan, r: ApplyReport, quiet: boolean, ms: number): void {
  const sizes = new Map(r.manifest.files.map((f) => [f.path, f.size]));
  const bytes = (paths: string[]) => formatBytes(paths.reduce((a, p) => a + (sizes.get(p) ?? 0), 0));
  for (const n of r.notes) console.log(`note: ${n}`);
  if (!quiet) {
    for (const p of r.written) console.log(`  wrote    ${p}`);
    for (const p of r.cloned) console.log(`  cloned   ${p} (${formatBytes(sizes.get(p) ?? 0)})`);
    for (const p of r.copied) console.log(`  copied   ${p} (${formatBytes(sizes.get(p) ?? 0)})`);
    for (const p of r.linked) console.log(`  linked   ${p} (${formatBytes(sizes.get(p) ?? 0)})`);
    for (const p of r.removed) console.log(`  removed  ${p}`);
    for (const p of r.kept) console.log(`  kept     ${p} (not created by triton-deploy)`);
  }
  const head = r.changed ? `${plan.models.length} models → ${r.outDir}` : `${plan.models.length} models in ${r.outDir}: nothing changed, nothing written`;
  console.log(`synth-repo: ${head}`);
  console.log(
    `  written ${r.written.length}, cloned ${r.cloned.length} (${bytes(r.cloned)}), copied ${r.copied.length} (${bytes(r.copied)}), linked ${r.linked.length} (${bytes(r.linked)}), ` +
      `unchanged ${r.unchanged.length}, removed ${r.removed.length}, kept ${r.kept.length}; hashed ${formatBytes(r.hashedBytes)} in ${(ms / 1000).toFixed(2)} s`,
  );
}

/** Progress for files over 256 MiB: a live line on a terminal, quarter steps otherwise. */
function progressPrinter(): Progress {
  const big = 256 << 20;
  const shown = new Map<string, number>();
  return (file, done, total) => {
    if (total < big) return;
    const pct = Math.floor((done / total) * 100);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r  hashing ${file} ${formatBytes(done)} / ${formatBytes(total)} (${pct}%)${done === total ? "\n" : ""}`);
      return;
    }
    const step = Math.floor(pct / 25);
    if (shown.get(file) === step) return;
    shown.set(file, step);
    process.stderr.write(`  hashing ${file} ${pct}% of ${formatBytes(total)}\n`);
  };
}
