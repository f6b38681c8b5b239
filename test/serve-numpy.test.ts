// serve-local with a python3 that cannot import numpy: one message at start-up naming the
// interpreter and the fix, instead of a traceback per Python model and an error per request; the
// models that need no Python still load and answer.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureFixtures } from "../src/fixtures/write.ts";
import { synthRepo } from "../src/repo/synth.ts";
import { findBranch, loadCatalog } from "../src/spec/catalog.ts";
import { startServeLocal, type LocalServer } from "../src/verify/local-server.ts";
import { spawnServeLocal } from "./support/serve-cli.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
let dir: string;
let server: LocalServer | undefined;
const lines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "serve-numpy-"));
  const specs = join(REPO_ROOT, "model-specs");
  const midas = findBranch(await loadCatalog(specs), "midas_256")!;
  await ensureFixtures([midas.branch], join(dir, "onnx"));
  await synthRepo({ specsDir: specs, onnxRoot: join(dir, "onnx"), outDir: join(dir, "models"), preprocess: "python", select: () => ({ branches: [midas], profile: null }) });
  // python3 as it is, but a numpy that cannot be imported first on its path (what a python3 without numpy gives)
  await mkdir(join(dir, "shadow", "numpy"), { recursive: true });
  await writeFile(join(dir, "shadow", "numpy", "__init__.py"), `raise ModuleNotFoundError("No module named 'numpy'", name="numpy")\n`);
  process.env.PYTHONPATH = join(dir, "shadow");
  server = await startServeLocal({ repo: join(dir, "models"), extraArgs: ["--exit-on-error=false"], command: [process.execPath, "--import", "tsx", "scripts/serve-local.ts"], cwd: REPO_ROOT, readyTimeoutMs: 60_000, onLine: (l) => lines.push(l) });
});

afterAll(async () => {
  await server?.stop();
  delete process.env.PYTHONPATH;
  await rm(dir, { recursive: true, force: true });
});

describe("serve-local without numpy", () => {
  it("exits at start-up as Triton does (--exit-on-error defaults to true), saying once why the Python steps cannot load and how to fix it", async () => {
    const s = spawnServeLocal(["--repo", join(dir, "models")]);
    const code = await s.exited;
    expect(code).toBe(1);
    const err = s.stderr().split("\n");
    expect(err.filter((l) => l.includes("cannot import numpy"))).toHaveLength(1);
    expect(err[0]).toMatch(/^serve-local: \S*python3?[\d.]* cannot import numpy \(ModuleNotFoundError: No module named 'numpy'\): the Python steps cannot run, so 2 model\(s\) are UNAVAILABLE \(midas_256, preprocess_midas_256\)$/);
    expect(err[1]).toMatch(/^ {2}fix: install numpy for it/);
    expect(s.stderr()).not.toMatch(/Traceback|step_host\.py/);
    expect(s.stdout()).not.toMatch(/listening on/);
  });

  it("with --exit-on-error=false, says so once at start-up, with the interpreter and the fix, and serves what needs no Python", async () => {
    const ready = lines.findIndex((l) => l.startsWith("serve-local: listening on"));
    const before = lines.slice(0, ready).filter((l) => !l.startsWith("serve-local: metrics on "));
    expect(before).toHaveLength(2); // the message and its fix: nothing per model
    expect(before[0]).toMatch(/^serve-local: \S*python3?[\d.]* cannot import numpy \(ModuleNotFoundError: No module named 'numpy'\): the Python steps cannot run, so 2 model\(s\) are UNAVAILABLE \(midas_256, preprocess_midas_256\)$/);
    expect(before[1]).toMatch(/^ {2}fix: install numpy for it \(\S+ -m pip install numpy\), set PYTHON to a python3 that has numpy, or write the repository with synth-repo --preprocess onnx/);
    expect(before.join("\n")).not.toMatch(/Traceback|step_host\.py/);
    expect(lines[ready]).toMatch(/\(1 models READY, 2 UNAVAILABLE\)$/);

    // the bare ONNX model answers; the Python step and its ensemble say why they are not ready
    const onnx = await fetch(`${server!.url}/v2/models/midas_256_onnx/ready`);
    expect(onnx.status).toBe(200);
    const step = await fetch(`${server!.url}/v2/models/midas_256/infer`, { method: "POST", body: JSON.stringify({ inputs: [{ name: "INPUT__0", datatype: "UINT8", shape: [1, 256, 256, 3], data: new Array(256 * 256 * 3).fill(0) }] }) });
    // as Triton 24.08 answers an ensemble over a step that did not load (server src/http_server.cc:
    // NOT_FOUND → 404): its node is invalid, so the lifecycle never held it (core
    // model_repository_manager.cc CheckNode); the step's reason is on the step's index row
    expect(step.status).toBe(404);
    expect(((await step.json()) as { error: string }).error).toBe("Request for unknown model: 'midas_256' is not found");
    const index = (await (await fetch(`${server!.url}/v2/repository/index`, { method: "POST", body: "{}" })).json()) as { name: string; state?: string; reason?: string }[];
    expect(index.find((r) => r.name === "preprocess_midas_256")).toMatchObject({ state: "UNAVAILABLE", reason: expect.stringMatching(/cannot import numpy/) });
  });
});
