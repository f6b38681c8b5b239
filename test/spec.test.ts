// The model specs as a user writes them: the baseline catalog, the second (complexity) axis, and
// the editor schema that must never drift from what the tool accepts.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { buildCatalog, loadCatalog, readyBranches } from "../src/spec/catalog.ts";
import { renderSchemaFile, SCHEMA_FILES } from "../src/spec/json-schema.ts";
import { FamilySchema } from "../src/spec/schema.ts";
import { parseYaml } from "../src/spec/yaml.ts";
import { REPO_ROOT } from "./support/synth-workspace.ts";

const specs = join(REPO_ROOT, "model-specs");

describe("the baseline catalog", () => {
  it("holds the six families of design.md §4 with 14 ready branches and clip_image_336/448 planned", async () => {
    const c = await loadCatalog(specs);
    expect(c.families.map((f) => f.spec.family).sort()).toEqual(["clip_image", "clip_text", "midas", "places365", "raft", "yolo11"]);
    expect(readyBranches(c)).toHaveLength(14);
    expect(c.branches.filter((b) => b.branch.status === "planned").map((b) => b.branch.name)).toEqual(["clip_image_336", "clip_image_448"]);
    const yolo = c.branches.filter((b) => b.family === "yolo11");
    expect(yolo.map((b) => [b.branch.name, b.variant, b.models.entry, b.branch.onnx.outputs[0]!.dims[2]])).toEqual([
      ["yolo11x_320", "yolo11x", "yolo11x_320", 2100],
      ["yolo11x_640", "yolo11x", "yolo11x_640", 8400],
      ["yolo11x_960", "yolo11x", "yolo11x_960", 18900],
    ]);
  });

  it("gives every ready branch memory estimates with their source", async () => {
    for (const b of readyBranches(await loadCatalog(specs))) {
      expect(b.branch.memory.residentMiB, b.branch.name).toBeGreaterThan(0);
      expect(b.branch.memory.source, b.branch.name).toMatch(/\w/);
    }
  });
});

describe("the complexity axis", () => {
  it("expresses yolo11l_640 beside yolo11x_640 as another variant of the same family", async () => {
    const text = (await readFile(join(specs, "yolo11.yaml"), "utf8")).replace(
      "\n  - name: yolo11x_960",
      [
        "",
        "  - name: yolo11l_640",
        "    size: 640",
        "    variant: yolo11l",
        "    serving: direct",
        "    onnx:",
        "      file: yolo11l/yolo11l_640.onnx",
        "      inputs: [{ name: images, dtype: FP32, dims: [1, 3, 640, 640] }]",
        "      outputs: [{ name: output0, dtype: FP32, dims: [1, 84, 8400] }]",
        "    preprocess: *letterbox",
        "    memory: { residentMiB: 120, peakMiB: 700, source: estimate }",
        "  - name: yolo11x_960",
      ].join("\n"),
    );
    const { value, source } = parseYaml(text, "yolo11.yaml", FamilySchema);
    const c = buildCatalog([{ spec: value, file: "yolo11.yaml", source }]);
    const l = c.branches.find((b) => b.branch.name === "yolo11l_640")!;
    expect(l.variant).toBe("yolo11l");
    expect(l.models).toEqual({ entry: "yolo11l_640", onnx: "yolo11l_640" });
    expect(c.branches.filter((b) => b.variant === "yolo11x")).toHaveLength(3);
  });

  it("asks for a defaultVariant when a family has several and names none", () => {
    const text = [
      "family: det",
      "component: core_object_detections",
      "branches:",
      ...["a", "b"].map((v) => [
        `  - name: yolo11${v}_320`,
        "    size: 320",
        `    variant: yolo11${v}`,
        "    serving: direct",
        "    onnx: { file: x.onnx, inputs: [{ name: images, dtype: FP32, dims: [1, 3, 320, 320] }], outputs: [{ name: o, dtype: FP32, dims: [1, 84, 2100] }] }",
        "    preprocess: { kind: client-letterbox }",
        "    memory: { residentMiB: 1, peakMiB: 1, source: test }",
      ].join("\n")),
    ].join("\n");
    const { value, source } = parseYaml(text, "det.yaml", FamilySchema);
    expect(() => buildCatalog([{ spec: value, file: "det.yaml", source }])).toThrow(/det\.yaml:1:1 defaultVariant: the family has variants yolo11a, yolo11b but no defaultVariant/);
  });
});

describe("branch rules", () => {
  const family = (branch: string) => `family: f\ncomponent: c\nbranches:\n${branch}`;
  const parse = (text: string) => {
    const { value, source } = parseYaml(text, "f.yaml", FamilySchema);
    return buildCatalog([{ spec: value, file: "f.yaml", source }]);
  };
  it("an ensemble without a contract, and a direct model with a server-side step", () => {
    const onnx = "    onnx: { file: a.onnx, inputs: [{ name: x, dtype: FP32, dims: [1, 3, 8, 8] }], outputs: [{ name: y, dtype: FP32, dims: [1, 8] }] }\n    memory: { residentMiB: 1, peakMiB: 1, source: t }\n";
    expect(() => parse(family(`  - name: a\n    size: 8\n${onnx}`))).toThrow(/f\.yaml:\d+:\d+ branches\[0\]\.serving: an ensemble needs a contract/);
    expect(() => parse(family(`  - name: a\n    size: 8\n    serving: direct\n    preprocess: { kind: normalize, mean: [0, 0, 0], std: [1, 1, 1] }\n${onnx}`))).toThrow(
      /branches\[0\]\.preprocess\.kind: normalize needs a server-side step/,
    );
  });
  it("a zero std and a dynamic (-1) dimension", () => {
    const e = (() => {
      try {
        parseYaml(family("  - name: a\n    size: 8\n    onnx: { file: a.onnx, inputs: [{ name: x, dtype: FP32, dims: [-1, 3, 8, 8] }], outputs: [{ name: y, dtype: FP32, dims: [1] }] }\n    preprocess: { kind: normalize, mean: [0, 0, 0], std: [1, 0, 1] }\n    memory: { residentMiB: 1, peakMiB: 1, source: t }\n"), "f.yaml", FamilySchema);
      } catch (err) {
        return err as UserError;
      }
    })();
    expect(e?.message).toMatch(/branches\[0\]\.onnx\.inputs\[0\]\.dims\[0\]: dims are fixed: every dimension must be a positive integer/);
    expect(e?.message).toMatch(/branches\[0\]\.preprocess\.std: std values must be non-zero/);
  });
});

describe("the editor schema", () => {
  for (const name of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    it(`model-specs/schema/${name} is what the zod schema generates (run npm run spec-schema)`, async () => {
      expect(await readFile(join(specs, "schema", name), "utf8")).toBe(renderSchemaFile(name));
    });
  }
  it("describes the fields a user writes, with the enum values the tool accepts", () => {
    const schema = JSON.parse(renderSchemaFile("family.schema.json")) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["family", "component", "branches", "routing"]));
    expect(schema.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).toContain('"client-letterbox"');
  });
});
