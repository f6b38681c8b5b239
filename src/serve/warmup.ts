// model_warmup at load, as Triton 24.08 runs it (core src/backend_model_instance.cc,
// GenerateWarmupData and WarmUp): after the backend is up and before the model is READY, each sample
// with batch_size >= 1 runs max(count, 1) times, asking for every output; zero_data is zeros,
// random_data random bytes, input_data_file the bytes of <model dir>/warmup/<file>. With
// max_batch_size 0 the sample's dims are the whole shape; otherwise serve-local sends one request of
// batch_size rows (Triton sends batch_size requests of one row, which its scheduler may batch). The
// request is checked against the config as any request is; a sample that fails fails the load with
// Triton's words ("failed to run warmup sample ..."). Warm-up runs are not counted in statistics.
import { randomFillSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelConfig, ModelWarmup } from "../config/index.ts";
import { dtypeInfo, elementCount, fromTritonType } from "../dtype.ts";
import type { Tensor } from "../kserve/index.ts";
import type { Backend } from "./backend.ts";
import { LoadError } from "./model-dir.ts";
import { checkInputs, signatureOf } from "./signature.ts";

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

/** Runs the config's warm-up samples through `backend`; a failure is a LoadError as Triton words it. */
export async function warmUp(backend: Backend, dir: string, model: string, cfg: ModelConfig): Promise<void> {
  const outputs = (cfg.output ?? []).map((o) => o.name ?? "");
  const sig = signatureOf(model, cfg);
  for (const w of cfg.model_warmup ?? []) {
    if (!w.batch_size) continue; // Triton skips batch-0 samples
    const inputs = await sampleInputs(dir, model, cfg, w);
    for (let i = 0; i < Math.max(w.count ?? 0, 1); i++) {
      try {
        checkInputs(model, sig, inputs); // Triton prepares a warm-up request as any other
        await backend.run(inputs, outputs);
      } catch (e) {
        throw new LoadError(`failed to run warmup sample '${w.name ?? ""}': ${e instanceof Error ? e.message : String(e)}; `);
      }
    }
  }
}
