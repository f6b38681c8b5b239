import { describe, expect, it } from "vitest";
import { UserError, type Problem } from "../src/errors.ts";
import { modelConfigToJson, parseModelConfig, roundTripCheck, writeModelConfig, type ModelConfig } from "../src/config/index.ts";
import { firstDifference } from "../src/config/compare.ts";
import { message, scalarField } from "../src/config/descriptor.ts";
import { MODEL_CONFIG } from "../src/config/model-config-schema.ts";
import { parseTextFormat, writeTextFormat } from "../src/config/text-format.ts";

const onnxModel: ModelConfig = {
  name: "midas_256_onnx",
  platform: "onnxruntime_onnx",
  max_batch_size: 0,
  input: [{ name: "input", data_type: "TYPE_FP32", dims: [1, 3, 256, 256] }],
  output: [{ name: "depth", data_type: "TYPE_FP32", dims: [1, 256, 256] }],
  instance_group: [{ count: 1, kind: "KIND_GPU" }],
  default_model_filename: "model.onnx",
  parameters: {
    cudnn_conv_algo_search: { string_value: "1" },
    gpu_mem_limit: { string_value: "2147483648" },
    arena_extend_strategy: { string_value: "1" },
  },
};

const pythonStep: ModelConfig = {
  name: "preprocess_midas_256",
  backend: "python",
  max_batch_size: 0,
  input: [{ name: "INPUT__0", data_type: "TYPE_UINT8", format: "FORMAT_NHWC", dims: [1, 256, 256, 3] }],
  output: [{ name: "input", data_type: "TYPE_FP32", dims: [1, 3, 256, 256] }],
  instance_group: [{ count: 2, kind: "KIND_CPU" }],
};

const ensemble: ModelConfig = {
  name: "midas_256",
  platform: "ensemble",
  max_batch_size: 0,
  input: [{ name: "INPUT__0", data_type: "TYPE_UINT8", dims: [1, 256, 256, 3] }],
  output: [{ name: "OUTPUT__0", data_type: "TYPE_FP32", dims: [1, 256, 256] }],
  ensemble_scheduling: {
    step: [
      { model_name: "preprocess_midas_256", model_version: -1, input_map: { INPUT__0: "INPUT__0" }, output_map: { input: "preprocessed_input" } },
      { model_name: "midas_256_onnx", model_version: -1, input_map: { input: "preprocessed_input" }, output_map: { depth: "OUTPUT__0" } },
    ],
  },
};

const tensorrt: ModelConfig = {
  name: "yolo11x_640",
  platform: "onnxruntime_onnx",
  version_policy: { specific: { versions: [1, 3] } },
  max_batch_size: 0,
  input: [{ name: "images", data_type: "TYPE_FP32", dims: [1, 3, 640, 640] }],
  output: [{ name: "output0", data_type: "TYPE_FP32", dims: [1, 84, 8400], reshape: { shape: [84, 8400] } }],
  optimization: {
    graph: { level: 1 },
    priority: "PRIORITY_MAX",
    cuda: { graphs: true },
    execution_accelerators: {
      gpu_execution_accelerator: [
        { name: "tensorrt", parameters: { precision_mode: "FP16", max_workspace_size_bytes: "1073741824", trt_engine_cache_enable: "1" } },
      ],
      cpu_execution_accelerator: [{ name: "openvino" }],
    },
    input_pinned_memory: { enable: true },
    output_pinned_memory: { enable: false },
  },
  instance_group: [{ name: "gpu0", count: 1, kind: "KIND_GPU", rate_limiter: { resources: [{ name: "gpu_serial", global: true, count: 1 }], priority: 2 }, gpus: [0] }],
  model_warmup: [{ name: "zeros", batch_size: 1, inputs: { images: { data_type: "TYPE_FP32", dims: [1, 3, 640, 640], zero_data: true } } }],
  response_cache: { enable: true },
};

function problemOf(f: () => unknown): Problem {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e.problems[0]!;
    throw e;
  }
  throw new Error("expected a UserError");
}
const parseProblem = (text: string) => problemOf(() => parseModelConfig(text, "m/config.pbtxt"));

describe("writing config.pbtxt", () => {
  it("writes an onnxruntime model in Triton's customary style, map keys sorted", () => {
    expect(writeModelConfig(onnxModel)).toBe(
      [
        'name: "midas_256_onnx"',
        'platform: "onnxruntime_onnx"',
        "max_batch_size: 0",
        "input [",
        "  {",
        '    name: "input"',
        "    data_type: TYPE_FP32",
        "    dims: [ 1, 3, 256, 256 ]",
        "  }",
        "]",
        "output [",
        "  {",
        '    name: "depth"',
        "    data_type: TYPE_FP32",
        "    dims: [ 1, 256, 256 ]",
        "  }",
        "]",
        "instance_group [",
        "  {",
        "    kind: KIND_GPU",
        "    count: 1",
        "  }",
        "]",
        'default_model_filename: "model.onnx"',
        'parameters { key: "arena_extend_strategy" value: { string_value: "1" } }',
        'parameters { key: "cudnn_conv_algo_search" value: { string_value: "1" } }',
        'parameters { key: "gpu_mem_limit" value: { string_value: "2147483648" } }',
        "",
      ].join("\n"),
    );
  });

  it("writes a TensorRT accelerator block with a plain string parameter map", () => {
    const text = writeModelConfig(tensorrt);
    expect(text).toContain(
      [
        "    gpu_execution_accelerator [",
        "      {",
        '        name: "tensorrt"',
        '        parameters { key: "max_workspace_size_bytes" value: "1073741824" }',
        '        parameters { key: "precision_mode" value: "FP16" }',
        '        parameters { key: "trt_engine_cache_enable" value: "1" }',
        "      }",
        "    ]",
      ].join("\n"),
    );
    expect(text).toContain('reshape { shape: [ 84, 8400 ] }');
    // The rate limiter (common protobuf/model_config.proto r24.08: ModelInstanceGroup.rate_limiter 6,
    // ModelRateLimiter.resources 1 / priority 2, Resource.name 1 / global 2 / count 3), in the .proto's declaration order.
    expect(text).toContain(
      ["    rate_limiter {", "      resources [", "        {", '          name: "gpu_serial"', "          global: true", "          count: 1", "        }", "      ]", "      priority: 2", "    }", "    gpus: [ 0 ]"].join("\n"),
    );
    expect(text).toContain('inputs { key: "images" value: { data_type: TYPE_FP32 dims: [ 1, 3, 640, 640 ] zero_data: true } }');
  });

  it("is deterministic whatever order the object's keys were set in", () => {
    const shuffled: ModelConfig = { parameters: { b: { string_value: "2" }, a: { string_value: "1" } }, name: "x", max_batch_size: 0 };
    expect(writeModelConfig(shuffled)).toBe('name: "x"\nmax_batch_size: 0\nparameters { key: "a" value: { string_value: "1" } }\nparameters { key: "b" value: { string_value: "2" } }\n');
  });

  it("escapes strings C-style and omits empty lists", () => {
    const text = writeModelConfig({ name: 'a"b\\c\n\u0001é', input: [] });
    expect(text).toBe('name: "a\\"b\\\\c\\n\\001é"\n');
  });

  it.each([
    ["a fractional dim", { input: [{ dims: [1.5] }] } as ModelConfig, "input[0].dims[0]"],
    ["an int32 overflow", { max_batch_size: 2 ** 31 }, "max_batch_size"],
    ["an unknown enum value", { instance_group: [{ kind: "KIND_TPU" }] } as unknown as ModelConfig, "instance_group[0].kind"],
    ["a field the schema lacks", { input: [{ shape: [1] }] } as unknown as ModelConfig, "input[0].shape"],
    ["both members of a oneof", { dynamic_batching: {}, ensemble_scheduling: {} }, "ensemble_scheduling"],
  ])("refuses %s, naming the field", (_, cfg, field) => {
    expect(problemOf(() => writeModelConfig(cfg)).field).toBe(field);
  });
});

describe("round trips", () => {
  it.each([
    ["an onnxruntime model with ORT parameters", onnxModel],
    ["a Python backend step on the CPU", pythonStep],
    ["an ensemble with two steps", ensemble],
    ["a TensorRT accelerator block, a rate limiter, warm-up and version policy", tensorrt],
    ["an all-versions policy (an empty message that is set)", { name: "v", version_policy: { all: {} } } as ModelConfig],
  ])("%s reads back as written", (_, cfg) => {
    expect(() => roundTripCheck(cfg)).not.toThrow();
    expect(parseModelConfig(writeModelConfig(cfg))).toEqual(cfg);
  });

  it("compares under protobuf semantics and names the first difference", () => {
    expect(firstDifference(MODEL_CONFIG, { max_batch_size: 0, input: [] }, {})).toBeUndefined();
    expect(firstDifference(MODEL_CONFIG, { version_policy: { all: {} } }, {})?.path).toBe("version_policy");
    expect(firstDifference(MODEL_CONFIG, onnxModel, { ...onnxModel, input: [{ ...onnxModel.input![0], dims: [1, 3, 256, 255] }] })).toEqual({
      path: "input[0].dims[3]",
      left: 256,
      right: 255,
    });
    expect(firstDifference(MODEL_CONFIG, onnxModel, { ...onnxModel, parameters: {} })?.path).toBe('parameters["arena_extend_strategy"]');
  });

  it("roundTripCheck surfaces a config the writer cannot carry", () => {
    expect(() => roundTripCheck({ output: [{ dims: [Number.NaN] }] })).toThrow(/output\[0\]\.dims\[0\]/);
  });
});

describe("parsing hand-written configs", () => {
  it("reads comments, list and repeated-line syntax, colon-less braces, <> and separators", () => {
    const text = `
# MiDaS small, hand-written
name: "midas"   # trailing comment
platform: 'onnxruntime_onnx';
max_batch_size: 0,
input {
  name: "input"
  data_type: TYPE_FP32
  dims: 1
  dims: [3, 256]
  dims: 256
}
input: < name: "second" data_type: 11 format: FORMAT_NCHW dims: [ -1 ] optional: True >
output [ { name: "depth", data_type: TYPE_FP32, dims: [ 1, 256, 256 ] } ]
instance_group [ { count: 0x2 kind: KIND_CPU }, { kind: 2 } ]
parameters: [ { key: "a" value { string_value: "1" } }, { key: "b" value: < string_value: "2" > } ]
parameters { key: "c" }
ensemble_scheduling { step { model_name: "m" model_version: -1 input_map { key: "x" value: "y" } } }
response_cache { enable: t }
`;
    expect(parseModelConfig(text)).toEqual({
      name: "midas",
      platform: "onnxruntime_onnx",
      max_batch_size: 0,
      input: [
        { name: "input", data_type: "TYPE_FP32", dims: [1, 3, 256, 256] },
        { name: "second", data_type: "TYPE_FP32", format: "FORMAT_NCHW", dims: [-1], optional: true },
      ],
      output: [{ name: "depth", data_type: "TYPE_FP32", dims: [1, 256, 256] }],
      instance_group: [{ count: 2, kind: "KIND_CPU" }, { kind: "KIND_CPU" }],
      parameters: { a: { string_value: "1" }, b: { string_value: "2" }, c: {} },
      ensemble_scheduling: { step: [{ model_name: "m", model_version: -1, input_map: { x: "y" } }] },
      response_cache: { enable: true },
    });
  });

  it("decodes escapes, octal, hex, \\u and adjacent-string concatenation", () => {
    const cfg = parseModelConfig(String.raw`name: "a\n\t\"\\\'" 'b\101\x42' "\303\251\u00e9"`);
    expect(cfg.name).toBe("a\n\t\"\\'bABéé");
  });

  it("reads every bool spelling", () => {
    for (const [s, v] of [["true", true], ["True", true], ["t", true], ["1", true], ["false", false], ["False", false], ["f", false], ["0", false]] as const) {
      expect(parseModelConfig(`input { optional: ${s} }`).input![0]!.optional).toBe(v);
    }
  });

  it("reads floats, inf and nan where the schema has float fields", () => {
    const schema = message("test.Floats", [scalarField("x", 1, "float", { repeated: true }), scalarField("d", 2, "double")]);
    const v = parseTextFormat(schema, "x: [ 1.0, 1e-3, .5, 2.5f, 7, -inf, inf, Infinity, nan, -2E+2 ] d: -0");
    expect(v.x).toEqual([1, 0.001, 0.5, 2.5, 7, -Infinity, Infinity, Infinity, NaN, -200]);
    expect(Object.is(v.d, -0)).toBe(true);
    expect(parseTextFormat(schema, writeTextFormat(schema, v))).toEqual(v);
  });

  it("keeps a __proto__ map key as data", () => {
    const cfg = parseModelConfig('parameters { key: "__proto__" value { string_value: "x" } }');
    expect(Object.keys(cfg.parameters!)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(cfg.parameters)).toBe(Object.prototype);
  });
});

describe("parse errors name file:line:column, the field path and what is expected", () => {
  it.each([
    ["an unknown field", 'input [ {}, { name: "x" dimz: [1] } ]', 1, 25, "input[1].dimz", /unknown field "dimz" in inference.ModelInput/, /did you mean dims/],
    ["a Triton field we do not model", "name: \"x\"\nsequence_batching { }", 2, 1, "sequence_batching", /does not model/, /model-config-schema/],
    ["a string where an integer goes", 'max_batch_size: "8"', 1, 17, "max_batch_size", /expected an integer \(int32\), found the string "8"/, undefined],
    ["a fraction in dims", "input {}\ninput { dims: [ 1, 2.5 ] }", 2, 20, "input[1].dims[1]", /2\.5, which is not a whole number/, undefined],
    ["a bare word where a string goes", "name: midas", 1, 7, "name", /expected a quoted string, found midas/, /"midas"/],
    ["an unknown enum identifier", "input { data_type: TYPE_FLOAT32 }", 1, 20, "input[0].data_type", /unknown inference.DataType value TYPE_FLOAT32/, /TYPE_FP32/],
    ["an unknown enum number", "instance_group { kind: 9 }", 1, 24, "instance_group[0].kind", /no inference.ModelInstanceGroup.Kind value has the number 9/, /KIND_CPU/],
    ["a singular field given twice", 'name: "a"\nname: "b"', 2, 1, "name", /name is given twice \(first at 1:1\), but it is not a repeated field/, undefined],
    ["two members of a oneof", "dynamic_batching {}\nensemble_scheduling {}", 2, 1, "ensemble_scheduling", /ensemble_scheduling and dynamic_batching are both set/, undefined],
    ["a missing colon before a scalar", "max_batch_size 8", 1, 16, "max_batch_size", /expected ":" after max_batch_size/, undefined],
    ["a list for a singular field", "max_batch_size: [ 8 ]", 1, 17, "max_batch_size", /not a repeated field/, undefined],
    ["a list without commas", "input { dims: [ 1 2 ] }", 1, 19, "input[0].dims", /expected "," or "\]"/, undefined],
    ["a trailing comma in a list", "input { dims: [ 1, 2, ] }", 1, 21, "input[0].dims", /ends with ","/, /remove the last comma/],
    ["an unclosed block", "input {\n  name: \"x\"\n", 3, 1, "input[0]", /"}" missing: the block opened at 1:7 is not closed/, undefined],
    ["mismatched delimiters", "input < name: \"x\" }", 1, 19, "input[0]", /unexpected "}": the block opened at 1:7 needs ">"/, undefined],
    ["a stray closing brace", 'name: "x" }', 1, 11, undefined, /there is no open block/, undefined],
    ["an int32 overflow", "max_batch_size: 2147483648", 1, 17, "max_batch_size", /outside the int32 range/, undefined],
    ["a negative unsigned value", "response_cache { enable: true }\nmodel_warmup { batch_size: -1 }", 2, 29, "model_warmup[0].batch_size", /must not be negative/, undefined],
    ["a map key given twice", 'parameters { key: "a" }\nparameters { key: "a" }', 2, 12, 'parameters["a"]', /key "a" is given twice \(first at 1:12\)/, undefined],
    ["a bad bool", "input { optional: yes }", 1, 19, "input[0].optional", /expected true or false, found yes/, undefined],
    ["a message given a scalar", "version_policy: latest", 1, 17, "version_policy", /expected "{" to start version_policy/, undefined],
  ])("%s", (_, text, line, column, field, message, hint) => {
    const p = parseProblem(text);
    expect(p).toMatchObject({ file: "m/config.pbtxt", line, column });
    expect(p.field).toBe(field);
    expect(p.message).toMatch(message);
    if (hint) expect(p.hint).toMatch(hint);
  });

  it.each([
    ["an unterminated string", 'name: "abc\n', 1, 11, /string is not closed on this line/],
    ["an unknown escape", 'name: "a\\qb"', 1, 9, /unknown escape \\q/],
    ["escapes that are not UTF-8", 'name: "\\377"', 1, 7, /not form valid UTF-8/],
    ["a malformed number", "max_batch_size: 12abc", 1, 19, /malformed number/],
    ["an unexpected character", "name = \"x\"", 1, 6, /unexpected character "="/],
  ])("lexer: %s", (_, text, line, column, message) => {
    const p = parseProblem(text);
    expect(p).toMatchObject({ file: "m/config.pbtxt", line, column });
    expect(p.message).toMatch(message);
  });

  it("formats the whole message as file:line:column field: what", () => {
    expect(() => parseModelConfig("input { dims: [ x ] }", "a/config.pbtxt")).toThrow("a/config.pbtxt:1:17 input[0].dims[0]: expected an integer (int64), found x");
  });
});

describe("modelConfigToJson: what Triton's GET /v2/models/{m}/config returns", () => {
  const json = modelConfigToJson(pythonStep);

  it("prints every scalar with its default, enums as identifiers, dims as numbers", () => {
    expect(json.input).toEqual([
      { name: "INPUT__0", data_type: "TYPE_UINT8", format: "FORMAT_NHWC", dims: [1, 256, 256, 3], is_shape_tensor: false, allow_ragged_batch: false, optional: false, is_non_linear_format_io: false },
    ]);
    expect(json).toMatchObject({ name: "preprocess_midas_256", platform: "", backend: "python", runtime: "", max_batch_size: 0, default_model_filename: "" });
  });

  it("prints empty lists and maps, omits unset messages and oneof members, keeps .proto key order", () => {
    expect(json).toMatchObject({ batch_input: [], batch_output: [], cc_model_filenames: {}, metric_tags: {}, parameters: {}, model_warmup: [] });
    expect(json).not.toHaveProperty("version_policy");
    expect(json).not.toHaveProperty("dynamic_batching");
    expect(json).not.toHaveProperty("optimization");
    expect(Object.keys((json.instance_group as object[])[0]!)).toEqual(["name", "kind", "count", "gpus", "secondary_devices", "profile", "passive", "host_policy"]);
  });

  it("prints ensemble steps with model_version as a number and maps as objects", () => {
    const e = modelConfigToJson(ensemble).ensemble_scheduling as { step: Record<string, unknown>[] };
    expect(e.step[0]).toEqual({ model_name: "preprocess_midas_256", model_version: -1, input_map: { INPUT__0: "INPUT__0" }, output_map: { input: "preprocessed_input" }, model_namespace: "" });
    const w = (modelConfigToJson(tensorrt).model_warmup as Record<string, unknown>[])[0];
    expect(w).toEqual({ name: "zeros", batch_size: 1, inputs: { images: { data_type: "TYPE_FP32", dims: [1, 3, 640, 640], zero_data: true } }, count: 0 });
    const g = (modelConfigToJson(tensorrt).instance_group as Record<string, unknown>[])[0];
    expect(g!.rate_limiter).toEqual({ resources: [{ name: "gpu_serial", global: true, count: 1 }], priority: 2 });
    expect(Object.keys(g!)).toEqual(["name", "kind", "count", "rate_limiter", "gpus", "secondary_devices", "profile", "passive", "host_policy"]);
  });
});
