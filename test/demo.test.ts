// npm run demo from the user's side: fixtures → synth-repo → serve-local → verify-ready → stop, into
// temporary directories; it exits with the gate's code, says where the reports are, and leaves no
// server behind.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { VerifyReport } from "../src/verify/report.ts";
import { REPO_ROOT } from "./support/verify-workspace.ts";

const dir = await mkdtemp(join(tmpdir(), "td-demo-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm run demo", () => {
  it("builds, serves and verifies the gpu-local plan, then stops the server and exits 0", () => {
    const args = ["--onnx-root", join(dir, "onnx"), "--repo", join(dir, "models"), "--reports", join(dir, "reports"), "--resolutions", "240p,1080x1920", "--timeout", "120"];
    const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts/demo.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 170_000 });
    const out = run.stdout + run.stderr;
    expect(run.status, out).toBe(0);
    for (const step of ["1/5 fixtures", "2/5 synth-repo", "3/5 serve-local", "4/5 verify-ready", "5/5 stopping serve-local"]) expect(out).toContain(`demo: ${step}`);
    // on the simulated gpu-local card, within its memory: what it used with every model loaded, and the most at any moment
    expect(out).toMatch(/\[serve-local\] serve-local: simulated GPU NVIDIA-GeForce-RTX-2060 \(--gpu gpu-local, GPU-simulated-gpu-local\): 5926 MiB, 1024 MiB reserved/);
    expect(out).toContain("[serve-local] serve-local: simulated GPU: 3804 of 5926 MiB used after loading (12 ONNX Runtime model versions), 2122 MiB free (simulated)");
    expect(out).toMatch(/\[serve-local\] serve-local: simulated GPU: at most 5604 of 5926 MiB in use at any moment \(simulated; reserve 1024 included\)/);
    // the gate passed through the model-repository API restricted as the deployment restricts it
    expect(out).toMatch(/demo: 4\/5 verify-ready against http:\/\/\S+ \(model-repository API restricted to header triton-repository-key, as deployed\)/);
    const json = join(dir, "reports", "verify-ready.json");
    expect(out).toContain(`demo: verify-ready PASSED; reports: ${json}, ${join(dir, "reports", "verify-ready.xml")}`);
    expect(existsSync(join(dir, "models", "clip_text_onnx", "config.pbtxt"))).toBe(true);
    const pid = Number(/stopping serve-local \(pid (\d+)\)/.exec(out)?.[1]);
    expect(alive(pid)).toBe(false);
    return readFile(json, "utf8").then((text) => {
      const report = JSON.parse(text) as VerifyReport;
      expect(report.status).toBe("pass");
      expect(report.onnxRoot).toBe(join(dir, "onnx"));
    });
  }, 180_000);
});
