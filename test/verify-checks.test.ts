// The gate's pure judgements: the repository index against the plan, metadata against the specs,
// the fixture oracle's numbers, back-off bounds, and the JSON/JUnit/table views of a report.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan } from "../src/plan/load.ts";
import { findBranch } from "../src/spec/catalog.ts";
import { compareRepository, expectationFromPlan, NAME_ONLY, type IndexEntry } from "../src/verify/repository.ts";
import { compareMetadata, specModels, type ModelMetadata } from "../src/verify/metadata.ts";
import { normalizeReference } from "../src/verify/expected.ts";
import { Deadline, waitWithBackoff } from "../src/verify/deadline.ts";
import { junitXml, xmlEscape } from "../src/verify/junit.ts";
import { formatReportTable } from "../src/verify/table.ts";
import { overallStatus, rollUp, STEP_NAMES, type VerifyReport } from "../src/verify/report.ts";
import { acceptedFor, judgeConstantOutputs, parseAcceptedConstant } from "../src/verify/constant.ts";
import type { Tensor } from "../src/pipeline/tensor.ts";

const { catalog, plan } = await loadPlan({ profile: "gpu-local" });
const exp = expectationFromPlan(plan);
const ready = (names: readonly string[]): IndexEntry[] => names.map((name) => ({ name, version: "1", state: "READY", reason: "" }));

describe("repository index vs the gpu-local checklist and plan", () => {
  it("passes when exactly the plan's load list is READY", () => {
    const cmp = compareRepository(ready(plan.loadModels), exp);
    expect(cmp.failures).toEqual([]);
    expect(cmp.required).toHaveLength(20); // seed 001's required list
    expect(cmp.required.every((r) => r.ok)).toBe(true);
    expect(cmp.optional.every((o) => o.state === "READY")).toBe(true);
  });

  it("fails naming a required model that is absent or UNAVAILABLE, with the server's reason", () => {
    const index = ready(plan.loadModels.filter((m) => m !== "clip_text_onnx" && m !== "midas_384" && m !== "midas_256"));
    index.push({ name: "midas_384", version: "1", state: "UNAVAILABLE", reason: "failed to load 'midas_384_onnx'" });
    index.push({ name: "midas_256" }); // an ensemble Triton found invalid: never in its lifecycle, a name-only row
    const cmp = compareRepository(index, exp);
    expect(cmp.failures).toContain("required model clip_text_onnx (branch clip_text) is absent from the repository index");
    expect(cmp.failures).toContain("required model midas_384 (branch midas_384) is UNAVAILABLE: failed to load 'midas_384_onnx'");
    expect(cmp.failures).toContain(`required model midas_256 (branch midas_256) is UNAVAILABLE: ${NAME_ONLY}`);
    expect(NAME_ONLY).toMatch(/^not loaded: the index lists its name only .*the server's log says which\)$/);
  });

  it("reports optional models that are missing without failing", () => {
    const cmp = compareRepository(ready(plan.loadModels.filter((m) => !m.startsWith("yolo11x_640"))), exp);
    expect(cmp.failures).toEqual([]);
    expect(cmp.optional.find((o) => o.model === "yolo11x_640")?.state).toBe("absent");
    expect(cmp.notes.join("\n")).toMatch(/optional model yolo11x_640 \(branch yolo11x_640\) is absent/);
  });

  it("fails a model the plan excludes but the server loaded: it would OOM on 6 GB", () => {
    const cmp = compareRepository(ready([...plan.loadModels, "yolo11x_960"]), exp);
    expect(cmp.failures).toHaveLength(1);
    expect(cmp.failures[0]).toMatch(/^model yolo11x_960 is READY on the server but the gpu-local plan excludes branch yolo11x_960 \(does not fit: .*\): it will run out of GPU memory/);
  });

  it("takes a model READY when any version is, and notes READY models the plan does not know", () => {
    const index: IndexEntry[] = [...ready(plan.loadModels), { name: "midas_256", version: "2", state: "UNAVAILABLE" }, { name: "my_extra", state: "READY" }, { name: "never_loaded" }];
    const cmp = compareRepository(index, exp);
    expect(cmp.failures).toEqual([]);
    expect(cmp.unexpected.map((u) => u.model)).toEqual(["my_extra"]);
  });
});

describe("metadata vs spec", () => {
  const midas = specModels(findBranch(catalog, "midas_256")!);
  const meta = (m: (typeof midas)[number]): ModelMetadata => ({
    name: m.model,
    inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.dtype, shape: [...t.dims] })),
    outputs: m.outputs.map((t) => ({ name: t.name, datatype: t.dtype, shape: [...t.dims] })),
  });

  it("knows the ensemble, the preprocess step and the ONNX model of a branch", () => {
    expect(midas.map((m) => [m.model, m.role, m.inputs.map((t) => `${t.name}:${t.dtype}[${t.dims}]`)])).toEqual([
      ["midas_256", "ensemble", ["INPUT__0:UINT8[1,256,256,3]"]],
      ["preprocess_midas_256", "preprocess", ["INPUT__0:UINT8[1,256,256,3]"]],
      ["midas_256_onnx", "onnx", ["input:FP32[1,3,256,256]"]],
    ]);
    for (const m of midas) expect(compareMetadata(meta(m), m)).toEqual([]);
  });

  it("names model, tensor, field and both values for a stale deployment", () => {
    const m = midas[0]!;
    const stale = meta(m);
    stale.inputs[0]!.shape = [1, 384, 384, 3];
    stale.outputs[0]!.datatype = "FP16";
    expect(compareMetadata(stale, m)).toEqual([
      "midas_256: input INPUT__0 shape: server [1, 384, 384, 3], spec [1, 256, 256, 3]",
      "midas_256: output OUTPUT__0 datatype: server FP16, spec FP32",
    ]);
    const renamed = meta(m);
    renamed.inputs[0]!.name = "IMAGE";
    expect(compareMetadata(renamed, m)).toEqual([
      "midas_256: input INPUT__0 is missing on the server (server inputs: IMAGE; spec inputs: INPUT__0)",
      "midas_256: input IMAGE (UINT8 [1, 256, 256, 3]) is on the server but not in the spec",
    ]);
  });
});

describe("the preprocess formula the oracle composes with fixtures", () => {
  it("is (x / divisor − mean) / std in float32, NHWC → NCHW", () => {
    const x = Uint8Array.from([0, 128, 255, 10, 20, 30]); // [1, 1, 2, 3]
    const y = normalizeReference(x, [1, 1, 2, 3], { divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const f = Math.fround;
    const one = (v: number, m: number, s: number) => f(f(f(v / 255) - f(m)) / f(s));
    expect([...y]).toEqual([one(0, 0.485, 0.229), one(10, 0.485, 0.229), one(128, 0.456, 0.224), one(20, 0.456, 0.224), one(255, 0.406, 0.225), one(30, 0.406, 0.225)]);
  });
});

describe("bounded exponential back-off", () => {
  it("doubles the pause up to the cap and gives up when the budget is spent", async () => {
    let now = 0;
    const pauses: number[] = [];
    const deadline = new Deadline(10_000, () => now);
    const r = await waitWithBackoff(async () => false, deadline, { initialMs: 100, maxMs: 1600, sleep: async (ms) => { pauses.push(ms); now += ms; } });
    expect(r.ok).toBe(false);
    expect(pauses.slice(0, 6)).toEqual([100, 200, 400, 800, 1600, 1600]);
    expect(pauses.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(r.last).toBe("answered not ready");
  });

  it("returns at the first success and counts a throwing probe as not yet", async () => {
    let n = 0;
    const r = await waitWithBackoff(async () => { n++; if (n < 3) throw new Error("ECONNREFUSED"); return true; }, new Deadline(5000), { sleep: async () => {} });
    expect(r).toEqual({ ok: true, tries: 3 });
  });
});

function sampleReport(): VerifyReport {
  const steps = STEP_NAMES.map((name, i) => ({ index: i + 1, name, title: name, status: "pass" as const, durationMs: 12, summary: "ok", details: [], checks: [{ name: `${name}-check`, status: "pass" as const, durationMs: 3 }] }));
  steps[2]!.status = "fail" as never;
  steps[2]!.checks.push({ name: 'midas<256> & "co"', status: "fail" as never, durationMs: 1, message: "shape: server [1, 384] <> spec [1, 256] & 'quotes' \u0007bell\nsecond line" } as never);
  steps[3]!.checks.push({ name: "yolo11x_640", status: "skip" as never, durationMs: 0, message: "not READY" } as never);
  return {
    tool: "triton-deploy verify-ready", version: 1, url: "http://127.0.0.1:1", profile: "gpu-local", specsDir: "model-specs", onnxRoot: null,
    resolutions: [{ name: "240p", width: 426, height: 240 }], timeoutS: 60, startedAt: "2025-01-01T00:00:00.000Z", durationMs: 100,
    status: "fail", exitCode: 1, plan: { profile: "gpu-local", selected: [], excluded: [], loadModels: [] }, steps,
  };
}

describe("reports", () => {
  it("escape XML text and drop characters XML cannot hold", () => {
    expect(xmlEscape(`a<b>&"c'\u0000`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;\uFFFD");
  });

  it("write well-formed JUnit XML with one testcase per check, failures and skips with messages", async () => {
    const xml = junitXml(sampleReport());
    const dir = await mkdtemp(join(tmpdir(), "td-junit-"));
    try {
      const file = join(dir, "r.xml");
      await writeFile(file, xml);
      const py = spawnSync("python3", ["-c", `
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall("./testsuite/testcase")
print(root.get("tests"), root.get("failures"), root.get("skipped"), len(root.findall("testsuite")), len(cases))
f = root.find(".//failure")
print(f.get("message")); print(f.text.splitlines()[-1])
print(root.find(".//skipped").get("message"))
print([c.get("name") for c in cases][3])
`, file], { encoding: "utf8" });
      expect(py.stderr).toBe("");
      expect(py.stdout.split("\n")).toEqual([
        "8 1 1 6 8",
        "shape: server [1, 384] <> spec [1, 256] & 'quotes' \uFFFDbell",
        "second line",
        "not READY",
        'midas<256> & "co"',
        "",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("roll checks up into steps and steps into the verdict", () => {
    expect(rollUp([])).toBe("skip");
    expect(rollUp([{ name: "a", status: "pass", durationMs: 0 }, { name: "b", status: "skip", durationMs: 0 }])).toBe("pass");
    const r = sampleReport();
    expect(overallStatus(r.steps)).toBe("fail");
    r.steps[2]!.status = "pass";
    expect(overallStatus(r.steps)).toBe("pass");
    r.steps[4]!.status = "skip";
    expect(overallStatus(r.steps)).toBe("fail"); // e2e must run for a pass
  });

  it("print a table with each step and every failure in full", () => {
    const text = formatReportTable(sampleReport());
    expect(text).toMatch(/│ 3 │ metadata\s+│ FAIL/);
    expect(text).toContain("[metadata] midas<256> & \"co\": shape: server [1, 384] <> spec [1, 256]");
    expect(text.trimEnd().split("\n").at(-1)).toBe("verify-ready: FAIL in 0.10 s (exit 1)");
  });
});

describe("a real model's output must depend on its input (step 4)", () => {
  const t = (name: string, data: Float32Array | BigInt64Array): Tensor => ({ name, datatype: data instanceof Float32Array ? "FP32" : "INT64", shape: [1, data.length], data });
  const f = (...v: number[]) => Float32Array.from(v);
  const none = { all: false, outputs: new Set<string>() };
  const judge = (answers: Tensor[][], accept: { all: boolean; outputs: Set<string> } = none, model = "m") => judgeConstantOutputs(model, answers, accept, "--accept-constant-output");

  it("says nothing about outputs that vary over elements and between inputs", () => {
    expect(judge([[t("y", f(1, 2, 3))], [t("y", f(1, 2, 4))]])).toEqual({ constant: [], accepted: [] });
    // one element: only the two inputs can be compared
    expect(judge([[t("y", f(5))], [t("y", f(6))]]).problem).toBeUndefined();
  });

  it("names the model, the output and what it suggests when every value is the same (0 and -0 alike)", () => {
    const { problem } = judge([[t("OUTPUT__0", f(0, -0, 0, 0))], [t("OUTPUT__0", f(-0, 0, 0, 0))]], none, "midas_512");
    expect(problem).toBe(
      "midas_512: output OUTPUT__0 is 0 everywhere (4 values) for two different inputs: a real model's output depends on its input; this suggests weights not loaded (zeros or random initializers left in), or a broken export (an output cut off from the input). Re-export the model with its weights, or pass --accept-constant-output midas_512 if it is meant to",
    );
  });

  it("flags an output that holds one value per input, and one that is the same for two inputs", () => {
    expect(judge([[t("y", f(2, 2))], [t("y", f(3, 3))]]).problem).toMatch(/^m: output y holds one value everywhere \(2 values: 2, then 3 for another input\)/);
    expect(judge([[t("b", BigInt64Array.from([1n, 2n]))], [t("b", BigInt64Array.from([1n, 2n]))]]).problem).toMatch(/^m: output b is the same, value for value, for two different inputs: /);
  });

  it("judges the model, not each output: one output the same for two inputs (an argmax class, zero-padded boxes) passes while another changes", () => {
    const v = judge([
      [t("boxes", f(0.1, 0.2, 0, 0)), t("classes", BigInt64Array.from([3n, 0n]))],
      [t("boxes", f(0.3, 0.1, 0, 0)), t("classes", BigInt64Array.from([3n, 0n]))],
    ]);
    expect(v.problem).toBeUndefined();
    expect(v.constant).toEqual(["output classes is the same, value for value, for two different inputs"]);
  });

  it("fails when every output is constant or unchanged, naming each", () => {
    const v = judge([
      [t("boxes", f(0, 0)), t("classes", BigInt64Array.from([3n, 0n]))],
      [t("boxes", f(0, 0)), t("classes", BigInt64Array.from([3n, 0n]))],
    ]);
    expect(v.problem).toMatch(/^m: no output depends on the input: output boxes is 0 everywhere \(2 values\) for two different inputs; output classes is the same, value for value, for two different inputs: a real model's output depends on its input; /);
  });

  it("MODEL:OUTPUT leaves that output out of the judgement; MODEL leaves out every output", () => {
    const answers = [
      [t("a", f(0, 0)), t("b", f(1, 1))],
      [t("a", f(0, 0)), t("b", f(1, 1))],
    ];
    // a accepted, b still judged: b alone ignores the input, so the model still fails, naming b only
    const oneOut = judge(answers, acceptedFor(parseAcceptedConstant(["m:a"]), ["m"]));
    expect(oneOut.problem).toMatch(/^m: output b is 1 everywhere/);
    expect(oneOut.accepted).toEqual(["a"]);
    expect(judge(answers, acceptedFor(parseAcceptedConstant(["m:a", "m:b"]), ["m"]))).toEqual({ constant: [], accepted: ["a", "b"] });
    expect(judge(answers, acceptedFor(parseAcceptedConstant(["m_branch"]), ["m", "m_branch"]))).toEqual({ constant: [], accepted: ["a", "b"] });
    // another model's accept changes nothing here; an accepted output the model lacks is named in the failure
    expect(judge(answers, acceptedFor(parseAcceptedConstant(["other", "other:a"]), ["m"])).accepted).toEqual([]);
    expect(judge(answers, acceptedFor(parseAcceptedConstant(["m:A"]), ["m"])).problem).toMatch(/\(--accept-constant-output m:A names no output of m; its outputs: a, b\)$/);
  });

  it("the accept list: MODEL or MODEL:OUTPUT, comma lists and repeated flags all collected", () => {
    expect(parseAcceptedConstant(["midas_256", " yolo11x_640:output0 , clip_text", "raft_256:flow,"])).toEqual([
      { model: "midas_256" },
      { model: "yolo11x_640", output: "output0" },
      { model: "clip_text" },
      { model: "raft_256", output: "flow" },
    ]);
    for (const bad of ["a:b:c", ":out", "model:"]) expect(() => parseAcceptedConstant([bad]), bad).toThrow(`'${bad}' is neither MODEL nor MODEL:OUTPUT`);
  });
});
