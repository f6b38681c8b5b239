// npm run plan, as a user runs it: a table by default, JSON with --json, usage errors exit 2 and plan
// failures exit 1, both without a stack trace.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function plan(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/plan.ts", ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("npm run plan", () => {
  it("prints the gpu-local table with both exclusions and their arithmetic", () => {
    const r = plan("--profile", "gpu-local");
    expect(r.code).toBe(0);
    expect(r.out).toContain("budget 5120 MiB");
    expect(r.out).toMatch(/raft_512[\s\S]*2840 \+ 3200 = 6040 > 5120 MiB[\s\S]*EXCLUDED/);
    expect(r.out).toContain("excluded 2: yolo11x_960, raft_512");
    expect(r.out).toContain("policy serial: sum(resident) + max(peak) <= budget");
    expect(r.out).toContain('every ONNX Runtime config: parameters arena_extend_strategy: "1", cudnn_conv_algo_search: "1", memory.enable_memory_arena_shrinkage: "gpu:0"');
    expect(r.out).toContain("tritonserver --model-load-thread-count=1 --rate-limit=execution_count --rate-limit-resource=gpu_serial:1");
    expect(r.out).toContain("TensorRT off (profile tensorrt: false)");
    expect(r.out).toContain("headroom 540 MiB on the nominal 6144 MiB; real headroom 322 MiB on the 5926 MiB the card reports");
    expect(r.out).toContain("startup budget 660 s: server start 300 s, load 12 ONNX models 240 s, warm up 12 ONNX models (cuDNN heuristic search) 120 s\n");
  });

  it("--json gives the selected and excluded models, the --load-model list and the routing table", () => {
    const r = plan("--profile", "gpu-prod", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.excluded).toEqual([]);
    expect(j.loadModels).toHaveLength(35);
    expect(j.routing.metric).toBe("max(analysis_width, analysis_height)");
    expect(j.selected[0]).toMatchObject({ branch: "midas_256", models: { ensemble: "midas_256", preprocess: "preprocess_midas_256", onnx: "midas_256_onnx" } });
    expect(j.onnxRuntime).toMatchObject({ policy: "serial", cudnnConvAlgoSearch: "exhaustive", parameters: { "memory.enable_memory_arena_shrinkage": "gpu:0", arena_extend_strategy: "1", cudnn_conv_algo_search: "0" } });
    expect(j.onnxRuntime).toMatchObject({ tensorrt: true, rateLimiter: { resource: "gpu_serial", args: ["--rate-limit=execution_count", "--rate-limit-resource=gpu_serial:1"] } });
    expect(j.selected[0]).toMatchObject({ residentMiB: 120 + 256, peakMiB: 300, workspaceMiB: 256, accelerator: { kind: "tensorrt", precision: "FP16", workspaceMiB: 256, engineCacheDir: "/var/cache/triton-deploy/trt-engines/midas_256_onnx" } });
    expect(j.startup.seconds).toBe(j.startup.parts.reduce((s: number, p: { seconds: number }) => s + p.seconds, 0));
  });

  it("an unknown profile exits 2 listing the known ones; a plan that cannot fit exits 1", () => {
    const unknown = plan("--profile", "gpu-tiny");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown profile 'gpu-tiny'");
    expect(unknown.err).toContain("use one of: gpu-a100-80, gpu-local, gpu-prod");
    expect(unknown.err).not.toMatch(/\n\s+at /);

    const specs = mkdtempSync(join(tmpdir(), "plan-cli-"));
    cpSync("model-specs", specs, { recursive: true });
    writeFileSync(join(specs, "profiles", "gpu-3gb.yaml"), [
      "name: gpu-3gb", "description: too small", "gpu: { product: GTX-1060-3GB, vramMiB: 3072 }", "reserveMiB: 512",
      "checklist:", "  required: [midas_256, midas_384, midas_512, raft_256, clip_image_224, clip_text, places365_resnet50_224]",
      "deployment:", "  repository: { kind: hostPath, path: /srv/models }", ""].join("\n"));
    const tooSmall = plan("--profile", "gpu-3gb", "--specs", specs);
    rmSync(specs, { recursive: true, force: true });
    expect(tooSmall.code).toBe(1);
    expect(tooSmall.err).toContain("the required branches do not fit");
    expect(tooSmall.err).toContain("1950 + 1400 = 3350 > 2560 MiB");
  });

  it("--help exits 0; a missing --profile exits 2", () => {
    expect(plan("--help").code).toBe(0);
    const r = plan();
    expect(r.code).toBe(2);
    expect(r.err).toContain("--profile");
  });
});
