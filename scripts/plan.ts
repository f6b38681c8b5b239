// npm run plan: the VRAM plan of a GPU profile, as a table or (--json) for machines.
import { command, runCli } from "../src/cli.ts";
import { formatPlanTable, planJson } from "../src/plan/format.ts";
import { loadPlan } from "../src/plan/load.ts";
import { startupBudget } from "../src/plan/startup.ts";

interface Flags {
  profile: string;
  specs: string;
  json: boolean;
  measured?: string;
}

const program = command("plan", "Print which branches a GPU profile loads, with the VRAM arithmetic under the profile's memory policy, the parameters every ONNX Runtime config gets, and the startup budget (design.md §6).")
  .requiredOption("--profile <name>", "GPU profile: model-specs/profiles/<name>.yaml")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--json", "print the plan as JSON (selected/excluded models, --load-model list, routing table)", false)
  .option("--measured <file>", "JSON of measured VRAM per ONNX model: {model: {residentMiB, peakMiB, source}}");

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const { plan, profile } = await loadPlan({ specsDir: f.specs, profile: f.profile, ...(f.measured ? { measuredFile: f.measured } : {}) });
  const startup = startupBudget(plan, profile.spec.deployment.repository);
  process.stdout.write(f.json ? `${JSON.stringify(planJson(plan, startup), null, 2)}\n` : `${formatPlanTable(plan, startup)}\n`);
  return 0;
});
