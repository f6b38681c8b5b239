// Routing: a video's resolution picks each family's branch before any call; when the plan left that
// branch out, the nearest deployed one answers and the decision says why.
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { planDeployment } from "../src/plan/plan.ts";
import { route, routeFamily, type RouteDecision } from "../src/routing/route.ts";
import { buildRoutingTable, DEFAULT_TIERS_UP_TO, type FamilyRoute, type RoutingTable } from "../src/routing/table.ts";
import { buildCatalog, loadCatalog, type Catalog } from "../src/spec/catalog.ts";
import { loadProfile } from "../src/spec/profile.ts";
import { FamilySchema } from "../src/spec/schema.ts";
import { SourceMap } from "../src/spec/yaml.ts";

const catalog = await loadCatalog("model-specs");
const everything = buildRoutingTable(catalog, new Set(catalog.branches.map((b) => b.branch.name)));
const gpuLocal = planDeployment(catalog, await loadProfile("model-specs", "gpu-local")).routing;

const family = (t: RoutingTable, name: string): FamilyRoute => t.families.find((f) => f.family === name)!;
const branchFor = (t: RoutingTable, name: string, width: number, height: number): string => routeFamily(family(t, name), { width, height }).branch;
/** The same table with only `deployed` branches deployed. */
const deployedOnly = (deployed: string[]) => buildRoutingTable(catalog, new Set(deployed));
function thrown(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error("expected a UserError");
}

describe("tiers (default 320 / 448, from one constant)", () => {
  it("midas uses the default bounds", () => {
    expect(family(everything, "midas").routing).toEqual({ rule: "tiers", upTo: [...DEFAULT_TIERS_UP_TO] });
    expect(DEFAULT_TIERS_UP_TO).toEqual([320, 448]);
  });

  it.each([
    [320, 240, "midas_256"], // exactly 320: still small
    [321, 240, "midas_384"],
    [448, 252, "midas_384"], // exactly 448: still medium
    [449, 252, "midas_512"],
    [1080, 1920, "midas_512"], // portrait: the long side counts
    [64, 48, "midas_256"], // tiny
    [3840, 2160, "midas_512"], // 4K
  ])("%i×%i → %s", (w, h, want) => {
    expect(branchFor(everything, "midas", w, h)).toBe(want);
  });

  it("says which tier and why", () => {
    expect(routeFamily(family(everything, "raft"), { width: 321, height: 200 }).reason).toBe("321 <= 448 and > 320: tier 2 of 3");
    expect(routeFamily(family(everything, "raft"), { width: 1080, height: 1920 }).reason).toBe("1920 > 448: tier 3 of 3");
  });

  it("a family's own bounds replace the defaults, and must ascend", () => {
    const midas = catalog.families.find((f) => f.spec.family === "midas")!;
    const withBounds = (upTo: number[]) => buildCatalog([{ ...midas, spec: FamilySchema.parse({ ...midas.spec, routing: { rule: "tiers", upTo } }) }]);
    const c = withBounds([256, 384]);
    const t = buildRoutingTable(c, new Set(c.branches.map((b) => b.branch.name)));
    expect(branchFor(t, "midas", 300, 200)).toBe("midas_384");
    expect(() => buildRoutingTable(withBounds([448, 320]), new Set())).toThrow(/tier bounds \[448, 320\] are not strictly ascending/);
  });

  it("a family with one ready branch always uses it (clip_image: 336 and 448 are only planned)", () => {
    expect(branchFor(everything, "clip_image", 3840, 2160)).toBe("clip_image_224");
    expect(family(everything, "clip_image").branches.map((b) => b.branch)).toEqual(["clip_image_224"]);
  });
});

describe("no-upscale (YOLO 320 / 640 / 960)", () => {
  it.each([
    [64, 48, "yolo11x_320"], // below every size: the smallest, letterboxed
    [320, 180, "yolo11x_320"],
    [639, 360, "yolo11x_320"], // never upscale 639 to 640
    [640, 360, "yolo11x_640"],
    [1080, 1920, "yolo11x_960"],
    [3840, 2160, "yolo11x_960"],
  ])("%i×%i → %s", (w, h, want) => {
    expect(branchFor(everything, "yolo11", w, h)).toBe(want);
  });

  it("explains a tiny input is letterboxed, not upscaled", () => {
    expect(routeFamily(family(everything, "yolo11"), { width: 64, height: 48 }).reason).toContain("letterboxed, never upscaled");
  });
});

describe("fallback to the nearest deployed branch", () => {
  it("chosen branch excluded by the plan → the nearest smaller one, with the reason (gpu-local, 1080p)", () => {
    const r = route(gpuLocal, { width: 1920, height: 1080 });
    const raft = r.decisions.find((d) => d.family === "raft")!;
    expect([raft.wanted, raft.branch]).toEqual(["raft_512", "raft_384"]);
    expect(raft.fallback?.reason).toBe("raft_512 is not deployed in this plan; using raft_384, the nearest smaller deployed branch");
    const yolo = r.decisions.find((d) => d.family === "yolo11")!;
    expect([yolo.wanted, yolo.branch]).toEqual(["yolo11x_960", "yolo11x_640"]);
  });

  it("skips an undeployed smaller one for the nearest deployed smaller one", () => {
    const t = deployedOnly(["midas_256"]);
    expect(routeFamily(family(t, "midas"), { width: 1920, height: 1080 }).branch).toBe("midas_256");
  });

  it("no smaller branch deployed → the nearest larger one", () => {
    const d = routeFamily(family(deployedOnly(["midas_384", "midas_512"]), "midas"), { width: 200, height: 100 });
    expect([d.wanted, d.branch]).toEqual(["midas_256", "midas_384"]);
    expect(d.fallback?.reason).toContain("no smaller branch is deployed; the nearest larger one");
  });

  it("nothing deployed in the family → an error naming it (exit 1)", () => {
    const e = thrown(() => route(deployedOnly(["midas_256"]), { width: 640, height: 480 }, { families: ["midas", "raft"] }));
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain("no branch of raft (raft) is deployed: raft_256, raft_384, raft_512 are all outside the plan");
  });

  it("by default routes only the families the plan deploys", () => {
    expect(route(deployedOnly(["midas_256", "clip_text"]), { width: 640, height: 480 }).decisions.map((d) => d.family)).toEqual(["clip_text", "midas"]);
  });
});

describe("the record of a run", () => {
  it("resolved_model_mapping names each family's entry; models_used lists entries and their steps", () => {
    const r = route(gpuLocal, { width: 1920, height: 1080 });
    expect(r.metric).toBe(1920);
    expect(r.resolved_model_mapping).toEqual({
      clip_image: "clip_image_224", clip_text: "clip_text", midas: "midas_512",
      places365: "places365_resnet50_448", raft: "raft_384", yolo11: "yolo11x_640",
    });
    expect(r.models_used).toEqual([
      "clip_image_224", "preprocess_clip_image_224", "clip_image_224_onnx", "clip_text", "clip_text_onnx",
      "midas_512", "preprocess_midas_512", "midas_512_onnx", "places365_resnet50_448", "preprocess_places365_448",
      "places365_resnet50_448_onnx", "raft_384", "preprocess_raft_384", "raft_384_onnx", "yolo11x_640",
    ]);
  });

  it("the table survives JSON: other services route the same way from the exported file", () => {
    const fromJson = JSON.parse(JSON.stringify(gpuLocal)) as RoutingTable;
    for (const [w, h] of [[320, 240], [449, 300], [1080, 1920], [64, 48], [3840, 2160]] as const) {
      expect(route(fromJson, { width: w, height: h })).toEqual(route(gpuLocal, { width: w, height: h }));
    }
  });

  it("refuses a resolution without positive integer sides (exit 2)", () => {
    expect(thrown(() => route(gpuLocal, { width: 0, height: 480 })).exitCode).toBe(2);
    expect(thrown(() => route(gpuLocal, { width: 640.5, height: 480 })).message).toContain("positive integer sides");
  });
});

describe("a second axis: complexity variants", () => {
  /** The yolo11 family with yolo11l branches beside yolo11x, built in code as a spec would say it. */
  function withYolo11l(): Catalog {
    const yolo = catalog.families.find((f) => f.spec.family === "yolo11")!;
    const light = yolo.spec.branches.filter((b) => b.size !== 960).map((b) => ({
      ...b, name: b.name.replace("yolo11x", "yolo11l"), variant: "yolo11l",
      onnx: { ...b.onnx, file: b.onnx.file.replace(/yolo11x/g, "yolo11l") },
    }));
    const spec = FamilySchema.parse({ ...yolo.spec, branches: [...yolo.spec.branches, ...light] });
    return buildCatalog([...catalog.families.filter((f) => f !== yolo), { spec, file: "yolo11.yaml", source: new SourceMap("yolo11.yaml", undefined, undefined) }]);
  }

  it("yolo11l_640 is routed when asked for, yolo11x by default", () => {
    const c = withYolo11l();
    const t = buildRoutingTable(c, new Set(c.branches.map((b) => b.branch.name)));
    const pick = (o: Parameters<typeof route>[2]): RouteDecision => route(t, { width: 800, height: 450 }, { ...o, families: ["yolo11"] }).decisions[0]!;
    expect(pick({}).branch).toBe("yolo11x_640");
    expect(pick({ variant: "yolo11l" })).toMatchObject({ variant: "yolo11l", branch: "yolo11l_640", entry: "yolo11l_640" });
    expect(pick({ variant: { yolo11: "yolo11l" } }).branch).toBe("yolo11l_640");
    // yolo11l has no 960: a 4K frame gets the largest yolo11l branch by the rule itself, no fallback.
    expect(route(t, { width: 3840, height: 2160 }, { variant: "yolo11l", families: ["yolo11"] }).decisions[0]).toMatchObject({ branch: "yolo11l_640" });
    expect(thrown(() => route(t, { width: 640, height: 480 }, { variant: "yolo11q" })).message).toContain("no family has variant 'yolo11q'");
  });

  it("other families keep their own variant when one name is given", () => {
    const c = withYolo11l();
    const t = buildRoutingTable(c, new Set(c.branches.map((b) => b.branch.name)));
    expect(route(t, { width: 400, height: 300 }, { variant: "yolo11l" }).resolved_model_mapping).toMatchObject({ midas: "midas_384", yolo11: "yolo11l_320" });
  });
});
