// The ONNX Runtime settings in every config: the memory policy's parameters, the cuDNN search, the
// warm-up at the exact input shapes, the serial policy's rate-limiter resource and TensorRT blocks
// (where the profile runs TensorRT); every config round-trips through our parser;
// and ortMemorySemantics reads any config the way Triton 24.08's ONNX Runtime backend would
// (onnxruntime_backend src/onnxruntime.cc at r24.08; core src/backend_model_instance.cc at r24.08 for
// warm-up), so synth-repo's check and serve-local's simulated card agree with the real server.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModelConfig, roundTripCheck, writeModelConfig, type ModelConfig } from "../src/config/index.ts";
import {
  CUDNN_CONV_ALGO_SEARCHES,
  GPU_SERIAL_RESOURCE,
  MEMORY_POLICIES,
  ortMemorySemantics,
  ortParameters,
  planContradictions,
  type OrtSettings,
} from "../src/config/ort-memory.ts";
import { onnxModelConfig, ortConfigProblems, preprocessModelConfig } from "../src/repo/model-configs.ts";
import { findBranch, loadCatalog, readyBranches } from "../src/spec/catalog.ts";
import { makeWorkspace } from "./support/synth-workspace.ts";

const catalog = await loadCatalog("model-specs");
const branch = (name: string) => findBranch(catalog, name)!;
const SERIAL: OrtSettings = { policy: "serial", cudnnConvAlgoSearch: "heuristic", tensorrt: false };
const SERIAL_TRT: OrtSettings = { ...SERIAL, tensorrt: true };
const RESIDENT: OrtSettings = { policy: "resident", cudnnConvAlgoSearch: "exhaustive", tensorrt: false };
/** An export key (src/plan/engine-cache.ts exportKey), as synth-repo computes it from the export's files. */
const KEY = "0123456789abcdef";

/** A config as a user would write it by hand, parsed by our parser. */
const pbtxt = (body: string): ModelConfig =>
  parseModelConfig(`name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 0\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 1, 3, 8, 8 ] } ]\n${body}`);

describe("the memory policy in every ONNX Runtime config", () => {
  it("serial: the GPU arena shrinks after each run and grows by exactly what is asked", () => {
    const text = writeModelConfig(onnxModelConfig(branch("midas_256"), SERIAL));
    expect(text).toContain('parameters { key: "memory.enable_memory_arena_shrinkage" value: { string_value: "gpu:0" } }');
    expect(text).toContain('parameters { key: "arena_extend_strategy" value: { string_value: "1" } }');
    expect(text).toContain('parameters { key: "cudnn_conv_algo_search" value: { string_value: "1" } }');
    expect(ortMemorySemantics(parseModelConfig(text))).toMatchObject({ arenaShrinkage: true, arenaExtendStrategy: "kSameAsRequested", cudnnConvAlgoSearch: "HEURISTIC", problems: [] });
  });

  it("resident: no shrinkage, so every arena keeps its peak; the cuDNN search follows the profile", () => {
    const cfg = parseModelConfig(writeModelConfig(onnxModelConfig(branch("midas_256"), RESIDENT)));
    expect(Object.keys(cfg.parameters!)).toEqual(["arena_extend_strategy", "cudnn_conv_algo_search"]);
    expect(ortMemorySemantics(cfg)).toMatchObject({ arenaShrinkage: false, arenaExtendStrategy: "kSameAsRequested", cudnnConvAlgoSearch: "EXHAUSTIVE" });
  });

  it("maps each cuDNN search to the backend's number", () => {
    expect(CUDNN_CONV_ALGO_SEARCHES.map((c) => ortParameters({ policy: "resident", cudnnConvAlgoSearch: c, tensorrt: false }).cudnn_conv_algo_search)).toEqual(["0", "1", "2"]);
  });

  it("keeps a spec's own parameters beside the plan's", () => {
    const cb = { ...branch("midas_256"), branch: { ...branch("midas_256").branch, triton: { parameters: { intra_op_thread_count: "2" } } } };
    const cfg = onnxModelConfig(cb, SERIAL);
    expect(cfg.parameters!.intra_op_thread_count).toEqual({ string_value: "2" });
    expect(ortConfigProblems(cb, cfg, SERIAL)).toEqual([]);
  });
});

describe("one GPU model at a time under serial (Triton's rate limiter)", () => {
  it("serial: every GPU instance holds the one copy of the global gpu_serial resource", () => {
    const text = writeModelConfig(onnxModelConfig(branch("midas_256"), SERIAL));
    expect(text).toContain(["    rate_limiter {", "      resources [", "        {", '          name: "gpu_serial"', "          global: true", "          count: 1", "        }", "      ]", "    }"].join("\n"));
    expect(ortMemorySemantics(parseModelConfig(text))).toMatchObject({ gpuSerial: true, problems: [] });
    expect(preprocessModelConfig(branch("midas_256"), "onnx", SERIAL).instance_group).toEqual([{ count: 1, kind: "KIND_GPU", rate_limiter: { resources: [{ name: GPU_SERIAL_RESOURCE, global: true, count: 1 }] } }]);
    expect(preprocessModelConfig(branch("midas_256"), "python", SERIAL).instance_group).toEqual([{ count: 1, kind: "KIND_CPU" }]);
  });

  it("resident: no resource (every peak is counted, models may run at once)", () => {
    expect(onnxModelConfig(branch("midas_256"), RESIDENT).instance_group).toEqual([{ count: 1, kind: "KIND_GPU" }]);
  });

  it("reads the resource as the rate limiter does: global, count 1, on every GPU group", () => {
    const groups = (g: string) => ortMemorySemantics(pbtxt(`instance_group [ ${g} ]`)).gpuSerial;
    const rl = (r: string) => `rate_limiter { resources [ { ${r} } ] }`;
    expect(groups(`{ kind: KIND_GPU ${rl('name: "gpu_serial" global: true count: 1')} }`)).toBe(true);
    expect(groups(`{ kind: KIND_GPU ${rl('name: "gpu_serial" count: 1')} }`)).toBe(false); // per device: not one pool for the server
    expect(groups(`{ kind: KIND_GPU ${rl('name: "gpu_serial" global: true count: 2')} }`)).toBe(false);
    expect(groups(`{ kind: KIND_GPU ${rl('name: "gpu_serial" global: true count: 1')} }, { kind: KIND_GPU }`)).toBe(false);
    expect(groups(`{ kind: KIND_GPU ${rl('name: "gpu_serial" global: true count: 1')} }, { kind: KIND_CPU }`)).toBe(true);
  });
});

describe("warm-up", () => {
  it("runs zeros of every input's exact type and shape once while loading (batch dim included: max_batch_size 0)", () => {
    const cfg = onnxModelConfig(branch("raft_256"), SERIAL);
    expect(cfg.model_warmup).toEqual([
      {
        name: "zero_data_at_contract_shapes",
        batch_size: 1,
        inputs: {
          input0: { data_type: "TYPE_FP32", dims: [1, 3, 256, 256], zero_data: true },
          input1: { data_type: "TYPE_FP32", dims: [1, 3, 256, 256], zero_data: true },
        },
        count: 1,
      },
    ]);
    // Zeros, not random bytes: random INT64 token ids would be out of the vocabulary and fail the load.
    expect(onnxModelConfig(branch("clip_text"), SERIAL).model_warmup![0]!.inputs).toEqual({ input_ids: { data_type: "TYPE_INT64", dims: [1, 77], zero_data: true } });
    expect(ortMemorySemantics(cfg)).toMatchObject({ warmupRuns: 1, problems: [] });
  });

  it("the ONNX preprocess step warms up too; Python steps and ensembles get no ONNX Runtime settings", () => {
    const cb = branch("midas_384");
    const onnxStep = preprocessModelConfig(cb, "onnx", SERIAL);
    expect(onnxStep.model_warmup![0]!.inputs).toEqual({ INPUT__0: { data_type: "TYPE_UINT8", dims: [1, 384, 384, 3], zero_data: true } });
    expect(onnxStep.parameters!["memory.enable_memory_arena_shrinkage"]).toEqual({ string_value: "gpu:0" });
    expect(onnxStep.optimization).toBeUndefined();
    const python = preprocessModelConfig(cb, "python", SERIAL);
    expect(python.parameters).toBeUndefined();
    expect(python.model_warmup).toBeUndefined();
  });

  it("reads samples as Triton runs them: batch_size 0 is skipped, count 0 runs once, count 3 three times", () => {
    const sample = (extra: string) => pbtxt(`model_warmup [ { name: "s" ${extra} inputs { key: "x" value: { data_type: TYPE_FP32 dims: [ 1, 3, 8, 8 ] zero_data: true } } } ]`);
    expect(ortMemorySemantics(sample("")).warmupRuns).toBe(0);
    expect(ortMemorySemantics(sample("batch_size: 1")).warmupRuns).toBe(1);
    expect(ortMemorySemantics(sample("batch_size: 1 count: 3")).warmupRuns).toBe(3);
  });

  it("reports a sample that would fail the load: wrong shape, wrong type, a missing or unknown input", () => {
    const cfg = pbtxt(`model_warmup [ { name: "s" batch_size: 1 inputs { key: "x" value: { data_type: TYPE_FP16 dims: [ 3, 8, 8 ] zero_data: true } } inputs { key: "y" value: { data_type: TYPE_FP32 dims: [ 1 ] random_data: true } } } ]`);
    expect(ortMemorySemantics(cfg).problems).toEqual([
      "model_warmup[0] 's' input 'x' is TYPE_FP16, the model takes TYPE_FP32",
      "model_warmup[0] 's' input 'x' has dims [3, 8, 8], the model takes [1, 3, 8, 8]",
      "model_warmup[0] 's' gives data for 'y', which is not an input of the model",
    ]);
    const missing = pbtxt(`model_warmup [ { batch_size: 1 } ]`);
    expect(ortMemorySemantics(missing).problems).toEqual(["model_warmup[0] gives no data for input 'x'"]);
  });
});

describe("TensorRT per branch, where the profile runs it", () => {
  it("writes a tensorrt gpu_execution_accelerator with precision, workspace and the engine cache, keyed by the export, on the mounted volume", () => {
    const cfg = onnxModelConfig(branch("midas_512"), SERIAL_TRT, KEY);
    expect(cfg.optimization).toEqual({
      execution_accelerators: {
        gpu_execution_accelerator: [
          {
            name: "tensorrt",
            parameters: {
              max_workspace_size_bytes: String(256 * 1024 * 1024),
              precision_mode: "FP16",
              trt_context_memory_sharing_enable: "1",
              trt_engine_cache_enable: "1",
              trt_engine_cache_path: "/var/cache/triton-deploy/trt-engines/midas_512_onnx/0123456789abcdef",
            },
          },
        ],
      },
    });
    const text = writeModelConfig(cfg);
    expect(text).toContain('        parameters { key: "precision_mode" value: "FP16" }\n');
    expect(ortMemorySemantics(parseModelConfig(text)).tensorrt).toEqual({
      precision: "FP16", workspaceMiB: 256, contextMemoryShared: true, engineCache: true, engineCachePath: "/var/cache/triton-deploy/trt-engines/midas_512_onnx/0123456789abcdef",
    });
  });

  it("writes no TensorRT block when the profile runs without it, and needs the export's key when it runs it", () => {
    expect(onnxModelConfig(branch("midas_512"), SERIAL).optimization).toBeUndefined();
    expect(() => onnxModelConfig(branch("midas_512"), SERIAL_TRT)).toThrow("midas_512_onnx runs TensorRT but its export was not hashed");
  });

  it("keeps RAFT in FP32 (seed 003: fp16 is unstable on grid_sample) and CLIP on the CUDA provider", () => {
    for (const b of catalog.branches.filter((x) => x.family === "raft")) expect(onnxModelConfig(b, SERIAL_TRT, KEY).optimization?.execution_accelerators?.gpu_execution_accelerator?.[0]?.parameters?.precision_mode, b.branch.name).toBe("FP32");
    for (const name of ["clip_image_224", "clip_text"]) expect(onnxModelConfig(branch(name), SERIAL_TRT, KEY).optimization, name).toBeUndefined();
  });

  it("reads TensorRT as the r24.08 backend does: default 1 GB workspace, bad precision or unknown keys refuse the load", () => {
    const trt = (params: string) => ortMemorySemantics(pbtxt(`optimization { execution_accelerators { gpu_execution_accelerator [ { name: "tensorrt" ${params} } ] } }`));
    expect(trt("").tensorrt).toEqual({ precision: "FP32", workspaceMiB: 1024, contextMemoryShared: false, engineCache: false });
    expect(trt('parameters { key: "precision_mode" value: "FP8" }').problems).toEqual(["unsupported precision mode 'FP8' is requested"]);
    expect(trt('parameters { key: "workspace" value: "1" }').problems).toEqual(["unknown parameter 'workspace' is provided for TensorRT Execution Accelerator"]);
    expect(trt('parameters { key: "trt_engine_cache_enable" value: "yes" }').problems).toEqual(["failed to convert trt_engine_cache_enable 'yes' to boolean"]);
    expect(trt('parameters { key: "trt_engine_cache_enable" value: "ON" }').tensorrt?.engineCache).toBe(true);
    const other = ortMemorySemantics(pbtxt(`optimization { execution_accelerators { gpu_execution_accelerator [ { name: "openvino" } ] } }`));
    expect(other.problems).toEqual(["unknown Execution Accelerator 'openvino' is requested"]);
  });
});

describe("CUDA options, as the r24.08 backend resolves them", () => {
  it("without parameters: ORT's defaults, EXHAUSTIVE search and next-power-of-two growth, no shrinkage", () => {
    expect(ortMemorySemantics(pbtxt(""))).toMatchObject({ arenaShrinkage: false, arenaExtendStrategy: "kNextPowerOfTwo", cudnnConvAlgoSearch: "EXHAUSTIVE", warmupRuns: 0, gpuInstances: 1 });
  });

  it("a cuda accelerator's options hold only while the config has no top-level parameters", () => {
    const cuda = `optimization { execution_accelerators { gpu_execution_accelerator [ { name: "cuda" parameters { key: "cudnn_conv_algo_search" value: "HEURISTIC" } parameters { key: "arena_extend_strategy" value: "kSameAsRequested" } } ] } }`;
    expect(ortMemorySemantics(pbtxt(cuda))).toMatchObject({ cudnnConvAlgoSearch: "HEURISTIC", arenaExtendStrategy: "kSameAsRequested" });
    // Any top-level parameter (here only the shrinkage) makes the backend set both knobs again, to their defaults.
    const both = pbtxt(`${cuda}\nparameters { key: "memory.enable_memory_arena_shrinkage" value: { string_value: "gpu:0" } }`);
    expect(ortMemorySemantics(both)).toMatchObject({ cudnnConvAlgoSearch: "EXHAUSTIVE", arenaExtendStrategy: "kNextPowerOfTwo", arenaShrinkage: true });
  });

  it("parses numbers as std::stoi does and refuses values out of range", () => {
    const p = (k: string, v: string) => ortMemorySemantics(pbtxt(`parameters { key: "${k}" value: { string_value: "${v}" } }`));
    expect(p("cudnn_conv_algo_search", "2").cudnnConvAlgoSearch).toBe("DEFAULT");
    expect(p("cudnn_conv_algo_search", " 1").cudnnConvAlgoSearch).toBe("HEURISTIC");
    expect(p("cudnn_conv_algo_search", "3").problems).toEqual(["unsupported cudnn_conv_algo_search value '3' is requested (expected 0..2)"]);
    expect(p("arena_extend_strategy", "fast").problems).toEqual(["unsupported arena_extend_strategy value 'fast' is requested (expected 0..1)"]);
  });

  it("shrinks the GPU arena only when the run option names a gpu device", () => {
    const shrink = (v: string) => ortMemorySemantics(pbtxt(`parameters { key: "memory.enable_memory_arena_shrinkage" value: { string_value: "${v}" } }`)).arenaShrinkage;
    expect([shrink("gpu:0"), shrink("cpu:0;gpu:0"), shrink("cpu:0"), shrink("")]).toEqual([true, true, false, false]);
  });

  it("counts GPU instances: each holds its own session and arena", () => {
    expect(ortMemorySemantics(pbtxt("instance_group [ { kind: KIND_GPU count: 2 }, { kind: KIND_CPU count: 4 } ]")).gpuInstances).toBe(2);
  });
});

describe("configs against the plan", () => {
  const cachePath = `/var/cache/triton-deploy/trt-engines/midas_512_onnx/${KEY}`;
  const planned = { settings: SERIAL_TRT, tensorrt: { precision: "FP16" as const, workspaceMiB: 256, engineCachePath: cachePath } };
  const good = () => parseModelConfig(writeModelConfig(onnxModelConfig(branch("midas_512"), SERIAL_TRT, KEY)));
  const accelerator = (cfg: ModelConfig) => cfg.optimization!.execution_accelerators!.gpu_execution_accelerator![0]!.parameters!;

  it("agree when written by the plan", () => {
    expect(planContradictions(good(), planned)).toEqual([]);
  });

  it("name what would make the arithmetic false on Triton", () => {
    const cfg = good();
    delete cfg.parameters!["memory.enable_memory_arena_shrinkage"];
    delete cfg.model_warmup;
    delete cfg.instance_group![0]!.rate_limiter;
    accelerator(cfg).max_workspace_size_bytes = String(1024 * 1024 * 1024);
    expect(planContradictions(cfg, planned).map((c) => c.field)).toEqual([
      'parameters["memory.enable_memory_arena_shrinkage"]',
      "model_warmup",
      "instance_group.rate_limiter",
      "optimization.execution_accelerators",
    ]);
    expect(planContradictions(cfg, planned)[2]!.message).toContain("the serial plan counts one peak at a time: every GPU instance group must hold the global 'gpu_serial' rate-limiter resource (count 1)");
    expect(planContradictions(good(), { settings: { policy: "resident", cudnnConvAlgoSearch: "heuristic", tensorrt: true }, tensorrt: planned.tensorrt })[0]!.message).toContain("the resident plan keeps arenas at their peak");
    expect(planContradictions(good(), { settings: { ...SERIAL_TRT, cudnnConvAlgoSearch: "exhaustive" }, tensorrt: planned.tensorrt })[0]!.message).toBe("cuDNN would search HEURISTIC, but the profile chose EXHAUSTIVE");
    expect(planContradictions(good(), { settings: SERIAL })[0]!.message).toBe("TensorRT's context memory (up to its 256 MiB workspace, held while loaded) is not in the plan: the profile runs without TensorRT");
    expect(planContradictions(parseModelConfig(writeModelConfig(onnxModelConfig(branch("midas_512"), SERIAL))), planned)[0]!.message).toContain("but the config runs without TensorRT");
  });

  it("hold the engine cache to the export it was keyed by", () => {
    const stale = good();
    accelerator(stale).trt_engine_cache_path = "/var/cache/triton-deploy/trt-engines/midas_512_onnx";
    expect(planContradictions(stale, planned).map((c) => c.message)).toEqual([
      `trt_engine_cache_path '/var/cache/triton-deploy/trt-engines/midas_512_onnx', but the plan keys the engine cache by the export's content: '${cachePath}' (an engine built from another export would be served)`,
    ]);
  });

  it("without context memory sharing every engine holds its own context memory, under either policy", () => {
    const held = good();
    delete accelerator(held).trt_context_memory_sharing_enable;
    const message = "without trt_context_memory_sharing_enable every TensorRT engine of the model holds its own context memory, but the plan counts one block (the largest engine's, as sharing gives)";
    expect(planContradictions(held, planned).map((c) => c.message)).toEqual([message]);
    const resident = parseModelConfig(writeModelConfig(onnxModelConfig(branch("midas_512"), { ...RESIDENT, tensorrt: true }, KEY)));
    delete accelerator(resident).trt_context_memory_sharing_enable;
    expect(planContradictions(resident, { ...planned, settings: { ...RESIDENT, tensorrt: true } }).map((c) => c.message)).toEqual([message]);
  });
});

describe("every config of the catalog", () => {
  const settings = MEMORY_POLICIES.flatMap((policy) => CUDNN_CONV_ALGO_SEARCHES.flatMap((cudnnConvAlgoSearch) => [false, true].map((tensorrt) => ({ policy, cudnnConvAlgoSearch, tensorrt }))));

  it.each(settings.map((s) => [`${s.policy}, cuDNN ${s.cudnnConvAlgoSearch}, TensorRT ${s.tensorrt ? "on" : "off"}`, s] as const))("round-trips through our parser and agrees with its plan (%s)", (_, s) => {
    for (const cb of readyBranches(catalog)) {
      const configs = [onnxModelConfig(cb, s, KEY), ...(cb.models.preprocess ? [preprocessModelConfig(cb, "onnx", s)] : [])];
      for (const cfg of configs) {
        expect(() => roundTripCheck(cfg), cfg.name).not.toThrow();
        const back = parseModelConfig(writeModelConfig(cfg));
        expect(back, cfg.name).toEqual(cfg);
        expect(ortConfigProblems(cb, back, s, KEY), cfg.name).toEqual([]);
        expect(ortMemorySemantics(back), cfg.name).toMatchObject({ arenaShrinkage: s.policy === "serial", gpuSerial: s.policy === "serial", warmupRuns: 1, gpuInstances: 1, problems: [] });
        expect(ortMemorySemantics(back).tensorrt !== undefined, cfg.name).toBe(s.tensorrt && cfg.name === cb.models.onnx && cb.branch.accelerator !== undefined);
      }
    }
  });

  it("without a profile, synth-repo writes the settings safe on any card: serial (shrinkage, gpu_serial), heuristic cuDNN search, no TensorRT", async () => {
    const ws = await makeWorkspace();
    try {
      const r = await ws.synth({ preprocess: "onnx" });
      let seen = 0;
      for (const m of r.plan.models) {
        const cfg = parseModelConfig(await readFile(join(ws.out, m, "config.pbtxt"), "utf8"));
        if (cfg.platform !== "onnxruntime_onnx") continue;
        seen++;
        expect(cfg.parameters?.["memory.enable_memory_arena_shrinkage"], m).toEqual({ string_value: "gpu:0" });
        expect(cfg.parameters?.cudnn_conv_algo_search, m).toEqual({ string_value: "1" });
        expect(ortMemorySemantics(cfg), m).toMatchObject({ arenaShrinkage: true, cudnnConvAlgoSearch: "HEURISTIC", gpuSerial: true, problems: [] });
        expect(cfg.optimization, m).toBeUndefined();
      }
      expect(seen).toBe(14 + 10); // every ready branch's model, and the ONNX preprocess steps of the 10 with a normalize step
    } finally {
      await ws.cleanup();
    }
  });
});
