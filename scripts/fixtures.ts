// npm run fixtures: a small stand-in ONNX model for every ready branch whose export is missing
// (see src/fixtures/README.md for what each computes). Real exports are never touched.
import { relative } from "node:path";
import { command, runCli } from "../src/cli.ts";
import { ensureFixtures } from "../src/fixtures/write.ts";
import { loadCatalog } from "../src/spec/catalog.ts";

interface Flags {
  specs: string;
  onnxRoot: string;
  dryRun: boolean;
}

const program = command("fixtures", "Write stand-in ONNX models for ready branches whose ONNX export is missing.")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--onnx-root <dir>", "root of the ONNX exports (env ONNX_ROOT)", process.env.ONNX_ROOT ?? "models/optimized")
  .option("--dry-run", "say what would be written, write nothing", false);

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const catalog = await loadCatalog(f.specs);
  const r = await ensureFixtures(catalog.branches.map((b) => b.branch), f.onnxRoot, { dryRun: f.dryRun });
  const show = (p: string) => relative(process.cwd(), p) || p;
  for (const p of r.written) console.log(`  ${f.dryRun ? "would write" : "wrote"} ${show(p)}`);
  for (const p of r.skippedReal) console.log(`  kept real export ${show(p)}`);
  console.log(`fixtures: ${r.written.length} written, ${r.unchanged.length} unchanged, ${r.skippedReal.length} real exports left alone (ONNX root ${f.onnxRoot})`);
  return 0;
});
