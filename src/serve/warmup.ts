// model_warmup at load, as Triton 24.08 runs it (core src/backend_model_instance.cc,
// GenerateWarmupData and WarmUp): after the backend is up and before the model is READY, each sample
// with batch_size >= 1 runs max(count, 1) times, asking for every output; zero_data is zeros,
// random_data random bytes, input_data_file the bytes of <model dir>/warmup/<file>. With
// max_batch_size 0 the sample's dims are the whole shape; otherwise serve-local sends one request of
// batch_size rows (Triton sends batch_size requests of one row in one execution).
// - The sample is checked against the config when it is generated (GenerateWarmupData calls
//   InferenceRequest::PrepareForInference): a sample that does not fit fails the load with the
//   check's own words, as any request's; an execution that fails fails it with "failed to run warmup
//   sample '<name>': <error>; " per request. ONNX Runtime refuses an execution of more rows than
//   max_batch_size allows (1 when it is 0) before running it (onnxruntime_backend src/onnxruntime.cc
//   ProcessRequests, r24.08).
// - Warm-up requests count in the model's statistics: they are ordinary InferenceRequests with
//   collect_stats_ true (core src/infer_request.cc), and the backend reports them through
//   TRITONBACKEND_ModelInstanceReportStatistics and ReportBatchStatistics as any other (WarmUp even
//   stamps each request's start so the durations are right). So a model READY after a warm-up of
//   count 1 shows one success, one inference and one execution before its first request.
import { randomFillSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ModelConfig, ModelWarmup } from "../config/index.ts";
import { dtypeInfo, elementCount, fromTritonType } from "../dtype.ts";
import type { Tensor } from "../kserve/index.ts";
import type { Backend } from "./backend.ts";
import { LoadError } from "./model-dir.ts";
import { checkInputs, signatureOf } from "./signature.ts";
import type { ModelStats } from "./stats.ts";

/** Triton's folder for input_data_file (core src/constants.h kWarmupDataFolder). */
const WARMUP_FOLDER = "warmup";

async function sampleInputs(dir: string, model: string, cfg: ModelConfig, w: ModelWarmup): Promise<Tensor[]> {
  const batched = (cfg.max_batch_size ?? 0) > 0;
  return Promise.all(
    Object.entries(w.inputs ?? {}).map(async ([name, i]) => {
      const datatype = fromTritonType(i.data_type ?? "TYPE_INVALID");
      const Ctor = datatype ? dtypeInfo(datatype).array : undefined;
      if (!datatype || !Ctor) throw new LoadError(`model '${model}': warmup sample '${w.name ?? ""}' input '${name}' is ${i.data_type ?? "TYPE_INVALID"}, which serve-local cannot send`);
      const shape = batched ? [w.batch_size!, ...(i.dims ?? [])] : [...(i.dims ?? [])];
      const bytes = elementCount(shape) * dtypeInfo(datatype).byteSize;
      const buf = Buffer.alloc(bytes);
      if (i.random_data) randomFillSync(buf);
      else if (i.input_data_file !== undefined) {
        const file = join(dir, WARMUP_FOLDER, i.input_data_file);
        const data = await readFile(file).catch(() => {
          throw new LoadError(`model '${model}': warmup sample '${w.name ?? ""}': cannot read ${file}`);
        });
        if (data.length < bytes) throw new LoadError(`model '${model}': warmup data '${i.input_data_file}' only has ${data.length} bytes, input '${name}' needs ${bytes}`);
        data.copy(buf, 0, 0, bytes);
      }
      const data = new Ctor(buf.buffer, buf.byteOffset, elementCount(shape));
      return { name, datatype, shape, data } as Tensor;
    }),
  );
}

/**
 * Runs the config's warm-up samples through `backend`, counting each run in `stats` as Triton does; a
 * failure is a LoadError as Triton words it.
 */
export async function warmUp(backend: Backend, dir: string, model: string, cfg: ModelConfig, stats: ModelStats): Promise<void> {
  const outputs = (cfg.output ?? []).map((o) => o.name ?? "");
  const sig = signatureOf(model, cfg);
  const maxBatch = cfg.max_batch_size ?? 0;
  // every sample is generated and checked before any runs (CreateInstance: GenerateWarmupData, then WarmUp)
  const samples: { w: ModelWarmup; inputs: Tensor[] }[] = [];
  for (const w of cfg.model_warmup ?? []) {
    if (!w.batch_size) continue; // Triton skips batch-0 samples
    const inputs = await sampleInputs(dir, model, cfg, w);
    try {
      // each of Triton's requests carries one row of the sample
      checkInputs(model, sig, maxBatch > 0 ? inputs.map((t) => ({ ...t, shape: [1, ...t.shape.slice(1)] })) : inputs);
    } catch (e) {
      throw new LoadError(e instanceof Error ? e.message : String(e));
    }
    samples.push({ w, inputs });
  }
  for (const { w, inputs } of samples) {
    const requests = w.batch_size!;
    const failed = (why: string) => new LoadError(`failed to run warmup sample '${w.name ?? ""}': ${`${why}; `.repeat(requests)}`);
    if (backend.kind === "onnxruntime" && requests !== 1 && requests > maxBatch) throw failed(`batch size ${requests} for '${model}', max allowed is ${maxBatch}`);
    for (let i = 0; i < Math.max(w.count ?? 0, 1); i++) {
      const t0 = performance.now();
      try {
        await backend.run(inputs, outputs);
      } catch (e) {
        throw failed(e instanceof Error ? e.message : String(e));
      }
      const ns = (performance.now() - t0) * 1e6;
      const compute = { inputNs: 0, inferNs: ns, outputNs: 0 };
      // each of the sample's requests is stamped just before the one execution that runs them all
      for (let r = 0; r < requests; r++) stats.success({ requestNs: ns, queueNs: 0, ...compute }, maxBatch > 0 ? 1 : 0);
      stats.executed(requests, compute);
    }
  }
}
