// serve-local over fixture models for bench's and e2e's integration tests: fixture exports and a
// repository written by synth-repo under the OS temp directory, served on a free port with only the
// models a test needs loaded (start-up stays short), and a runner for the npm scripts as users call them.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFixtures } from "../../src/fixtures/write.ts";
import { branchModels } from "../../src/names.ts";
import { synthRepo } from "../../src/repo/synth.ts";
import { findBranch, loadCatalog } from "../../src/spec/catalog.ts";
import { startServeLocal, type LocalServer } from "../../src/verify/local-server.ts";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

export interface ServedFixtures {
  server: LocalServer;
  dir: string;
  close(): Promise<void>;
}

/** serve-local loading every model of `branches` (fixtures, ONNX preprocess steps unless told otherwise). */
export async function serveFixtures(branches: readonly string[], preprocess: "python" | "onnx" = "onnx"): Promise<ServedFixtures> {
  const dir = await mkdtemp(join(tmpdir(), "bench-serve-"));
  const specs = join(REPO_ROOT, "model-specs");
  const catalog = await loadCatalog(specs);
  const chosen = branches.map((b) => {
    const cb = findBranch(catalog, b);
    if (!cb) throw new Error(`serveFixtures: no branch ${b}`);
    return cb;
  });
  const onnxRoot = join(dir, "onnx");
  const repo = join(dir, "models");
  await ensureFixtures(chosen.map((c) => c.branch), onnxRoot);
  await synthRepo({ specsDir: specs, onnxRoot, outDir: repo, preprocess, select: () => ({ branches: chosen, profile: null }) });
  // steps before their ensembles, as a Triton load order would have them
  const loadModels = chosen.flatMap((cb) => branchModels(cb.branch).map((m) => m.name).reverse());
  const server = await startServeLocal({ repo, loadModels, cwd: REPO_ROOT, readyTimeoutMs: 60_000 });
  return {
    server,
    dir,
    close: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsx <script> …args` from the project root, as `npm run <name> -- …args` would. */
export function runScript(script: string, args: readonly string[], timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} ${args.join(" ")} ran past ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
