// npm run demo: the whole chain on this machine, no GPU needed — stand-in exports (fixtures), the
// repository (synth-repo), the local KServe-v2 server on a free port loading the gpu-local plan's
// models on a simulated card of the profile's size (--gpu: every ONNX Runtime model's memory
// accounted from the specs, loaded one at a time as the plan tells Triton), with the model-repository
// API restricted as the deployment restricts it (a fresh key per run), and the gate against it with
// that key (--header) and exact fixture numbers. Exits with verify-ready's code.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { command, runCli } from "../src/cli.ts";
import { DEFAULT_RESTRICTED_API } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";
import { startServeLocal, type LocalServer } from "../src/verify/local-server.ts";

interface Flags {
  profile: string;
  specs: string;
  onnxRoot: string;
  repo: string;
  reports: string;
  timeout: string;
  resolutions?: string;
}

const program = command("demo", "fixtures → synth-repo → serve-local (background, free port) → verify-ready → stop the server.")
  .option("--profile <name>", "GPU profile whose plan the server loads and the gate checks", "gpu-local")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--onnx-root <dir>", "ONNX root (fixtures are written where exports are missing)", process.env.ONNX_ROOT ?? "models/optimized")
  .option("--repo <dir>", "repository to write and serve", "triton/models")
  .option("--reports <dir>", "where verify-ready writes verify-ready.json and verify-ready.xml", "reports")
  .option("--timeout <seconds>", "verify-ready's budget", "600")
  .option("--resolutions <list>", "verify-ready's e2e resolutions (default: its own)");

const say = (s: string) => process.stdout.write(`\ndemo: ${s}\n`);

/** Runs `npm run <script> -- args` with the terminal attached; resolves with its exit code. */
function npmRun(script: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const { plan } = await loadPlan({ specsDir: f.specs, profile: f.profile });

  say(`1/5 fixtures: stand-in ONNX exports under ${f.onnxRoot} where real ones are missing`);
  let code = await npmRun("fixtures", ["--specs", f.specs, "--onnx-root", f.onnxRoot]);
  if (code !== 0) return code;

  say(`2/5 synth-repo: ${f.specs} + ${f.onnxRoot} → ${f.repo}`);
  code = await npmRun("synth-repo", ["--specs", f.specs, "--onnx-root", f.onnxRoot, "--out", f.repo, "--quiet"]);
  if (code !== 0) return code;

  const card = `${plan.profile.gpu.product}, ${plan.profile.gpu.reportedMiB ?? plan.profile.gpu.vramMiB} MiB - reserve ${plan.profile.reserveMiB}`;
  say(`3/5 serve-local: ${f.repo} on a free port and a simulated ${card} (--gpu ${f.profile}), loading the ${f.profile} plan's ${plan.loadModels.length} models (excluded: ${plan.excluded.map((e) => e.branch).join(", ") || "none"})`);
  const header = DEFAULT_RESTRICTED_API.header;
  const key = randomBytes(12).toString("hex");
  let server: LocalServer;
  try {
    server = await startServeLocal({
      repo: f.repo,
      loadModels: plan.loadModels,
      extraArgs: [
        "--http-restricted-api", `model-repository:${header}=${key}`,
        "--gpu", f.profile, "--specs", f.specs, // loads as the plan tells Triton (--model-load-thread-count)
      ],
      readyTimeoutMs: 300_000,
      onLine: (l) => process.stdout.write(`  [serve-local] ${l}\n`),
    });
  } catch (e) {
    process.stderr.write(`demo: serve-local did not start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const stopOnSignal = () => void server.stop(2000).then(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  const json = join(f.reports, "verify-ready.json");
  const xml = join(f.reports, "verify-ready.xml");
  try {
    say(`4/5 verify-ready against ${server.url} (model-repository API restricted to header ${header}, as deployed)`);
    code = await npmRun("verify-ready", [
      "--url", server.url, "--header", `${header}=${key}`, "--profile", f.profile, "--specs", f.specs, "--onnx-root", f.onnxRoot,
      "--report", json, "--junit", xml, "--timeout", f.timeout, ...(f.resolutions ? ["--resolutions", f.resolutions] : []),
    ]);
  } finally {
    say(`5/5 stopping serve-local (pid ${server.pid})`);
    await server.stop();
  }
  say(`verify-ready ${code === 0 ? "PASSED" : `FAILED (exit ${code})`}; reports: ${json}, ${xml}`);
  return code;
});
