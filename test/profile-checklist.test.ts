// The checklist: the profile names branches, src/checklist.ts names their models; for gpu-local over
// the full catalog that is exactly seed 001's list of 20 required and 15 optional models.
import { describe, expect, it } from "vitest";
import { buildChecklist, resolveChecklist } from "../src/checklist.ts";
import { UserError } from "../src/errors.ts";
import { loadCatalog } from "../src/spec/catalog.ts";
import { loadProfile, parseProfile } from "../src/spec/profile.ts";
import { SEED_OPTIONAL, SEED_REQUIRED } from "./support/seed-001.ts";

const catalog = await loadCatalog("model-specs");


function profileWith(overrides: string) {
  return parseProfile(
    ["name: t", "description: t", "gpu: { product: T, vramMiB: 6144 }", "reserveMiB: 1024",
      "checklist:", "  required: [midas_256]", "  optional: [yolo11x_320, raft_384]", overrides,
      "deployment:", "  repository: { kind: hostPath, path: /srv/m }"].join("\n"),
    "model-specs/profiles/t.yaml",
  );
}

describe("the gpu-local checklist", () => {
  it("names exactly seed 001's 20 required and 15 optional models", async () => {
    const c = buildChecklist(catalog, await loadProfile("model-specs", "gpu-local"));
    expect(c.required.map((m) => m.name).sort()).toEqual([...SEED_REQUIRED].sort());
    expect(c.optional.map((m) => m.name).sort()).toEqual([...SEED_OPTIONAL].sort());
  });

  it("keeps the optional branches in the profile's priority order", async () => {
    const r = resolveChecklist(catalog, await loadProfile("model-specs", "gpu-local"));
    expect(r.branches.filter((b) => b.tier === "optional").map((b) => b.branch.branch.name)).toEqual([
      "yolo11x_320", "yolo11x_640", "places365_resnet50_336", "places365_resnet50_448", "raft_384", "yolo11x_960", "raft_512",
    ]);
  });
});

describe("checklist mistakes point at the profile line", () => {
  it("an override naming an unknown branch fails with file:line:column and close names (exit 2)", () => {
    const e = (() => { try { resolveChecklist(catalog, profileWith("overrides: { include: [yolo11x_96] }")); } catch (x) { return x; } })() as UserError;
    expect(e).toBeInstanceOf(UserError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/model-specs\/profiles\/t\.yaml:8:\d+ overrides\.include\[0\]: unknown branch 'yolo11x_96'/);
    expect(e.message).toContain("yolo11x_960");
  });

  it("a required branch that is only planned, or excluded, is refused", () => {
    const planned = parseProfile(["name: t", "description: t", "gpu: { product: T, vramMiB: 6144 }", "reserveMiB: 1", "checklist:", "  required: [clip_image_336]", "deployment:", "  repository: { kind: hostPath, path: /m }"].join("\n"), "t.yaml");
    expect(() => resolveChecklist(catalog, planned)).toThrow(/clip_image_336' is planned: it has no export to load/);
    expect(() => resolveChecklist(catalog, profileWith("overrides: { exclude: [midas_256] }"))).toThrow(/'midas_256' is required and cannot be excluded/);
  });

  it("include puts a branch ahead of the priority order; exclude marks it", () => {
    const r = resolveChecklist(catalog, profileWith("overrides: { include: [raft_384], exclude: [yolo11x_320] }"));
    expect(r.branches.map((b) => [b.branch.branch.name, b.tier, b.included, b.excluded])).toEqual([
      ["midas_256", "required", false, false],
      ["raft_384", "optional", true, false],
      ["yolo11x_320", "optional", false, true],
    ]);
  });
});
