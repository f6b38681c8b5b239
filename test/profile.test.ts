// GPU profiles: the three shipped profiles load, and every mistake in one points at its line.
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { listProfiles, loadProfile, parseProfile } from "../src/spec/profile.ts";

const SPECS = "model-specs";

/** A valid profile as YAML text, with `patch` lines replacing the defaults by key. */
function profileYaml(patch: Record<string, string> = {}): string {
  const parts: Record<string, string> = {
    name: "name: test-gpu",
    description: "description: a test card",
    gpu: "gpu: { product: Test, vramMiB: 6144 }",
    reserveMiB: "reserveMiB: 1024",
    checklist: "checklist:\n  required: [midas_256]\n  optional: [yolo11x_320]",
    deployment: "deployment:\n  repository: { kind: hostPath, path: /srv/models }",
    ...patch,
  };
  return Object.values(parts).filter(Boolean).join("\n") + "\n";
}

function userError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("GPU profiles", () => {
  it("ships gpu-local (RTX 2060, 6 GB), gpu-prod (24 GB) and an 80 GB profile", async () => {
    expect(await listProfiles(SPECS)).toEqual(["gpu-a100-80", "gpu-local", "gpu-prod"]);
    const local = await loadProfile(SPECS, "gpu-local");
    expect(local.spec.gpu.vramMiB).toBe(6144);
    expect(local.spec.gpu.product).toMatch(/2060/);
    expect(local.spec.deployment.repository.kind).toBe("hostPath");
    expect((await loadProfile(SPECS, "gpu-prod")).spec.gpu.vramMiB).toBe(24576);
    expect((await loadProfile(SPECS, "gpu-a100-80")).spec.gpu.vramMiB).toBe(81920);
  });

  it("refuses an unknown profile and lists the known ones (exit 2)", async () => {
    const e = await loadProfile(SPECS, "gpu-huge").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as UserError).message).toContain("unknown profile 'gpu-huge'");
    expect((e as UserError).message).toContain("gpu-a100-80, gpu-local, gpu-prod");
  });

  it("refuses a reserve that leaves no VRAM, naming the line and both numbers", () => {
    const e = userError(() => parseProfile(profileYaml({ reserveMiB: "reserveMiB: 6144" }), "p.yaml"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/p\.yaml:4:\d+ reserveMiB: reserveMiB 6144 must be below gpu\.vramMiB 6144/);
  });

  it("refuses a relative hostPath repository with its line", () => {
    const e = userError(() => parseProfile(profileYaml({ deployment: "deployment:\n  repository: { kind: hostPath, path: triton/models }" }), "p.yaml"));
    expect(e.message).toMatch(/p\.yaml:\d+:\d+ deployment\.repository\.path: a hostPath repository must be an absolute path/);
  });

  it("refuses a branch listed twice and an unknown field", () => {
    const twice = userError(() => parseProfile(profileYaml({ checklist: "checklist:\n  required: [midas_256]\n  optional: [midas_256]" }), "p.yaml"));
    expect(twice.message).toContain("checklist.optional[0]: branch 'midas_256' is listed twice (also in checklist.required)");
    const unknown = userError(() => parseProfile(profileYaml({ extra: "vram: 6" }), "p.yaml"));
    expect(unknown.message).toMatch(/p\.yaml:\d+:\d+ vram: unknown field 'vram'/);
  });

  it("refuses an object-store URL that tritonserver cannot read", () => {
    const e = userError(() => parseProfile(profileYaml({ deployment: "deployment:\n  repository: { kind: objectStore, url: 'https://bucket', credentialsSecret: store }" }), "p.yaml"));
    expect(e.message).toContain("expected s3://, gs:// or as://");
  });
});
