// An ensemble and the floor a user compares it with: its bare model (the last step, e.g.
// places365_resnet50_224_onnx) served by the same server. Read from the server itself (the
// ensemble's config over GET /v2/models/{m}/config, as Triton answers it), so it works against
// serve-local and Triton alike: the bare model's inputs are what the preprocess step returns for
// the same image, so the two sides compute the same thing and must answer the same bytes.
import type { KServeClient, Tensor } from "../src/client/index.ts";
import { dtypeInfo, fromTritonType, type DType } from "../src/dtype.ts";
import { imageBytes } from "./serve-bench-repo.ts";

interface StepConfig {
  model_name: string;
  input_map?: Record<string, string>;
  output_map?: Record<string, string>;
}

interface IoConfig {
  name: string;
  data_type: string;
  dims: (number | string)[];
}

export type PreprocessKind = "onnx" | "python" | "other";

export interface EnsembleAndFloor {
  ensemble: string;
  /** The last step: the model the ensemble wraps. */
  bare: string;
  preprocess: { model: string; kind: PreprocessKind } | null;
  callEnsemble(): Promise<Tensor[]>;
  callBare(): Promise<Tensor[]>;
}

/** Deterministic input for one config input: image bytes (every value present) for UINT8, small values otherwise. */
function tensorFor(io: IoConfig, seed: number): Tensor {
  const datatype = fromTritonType(io.data_type) as DType | undefined;
  if (!datatype || datatype === "BYTES") throw new Error(`input ${io.name}: ${io.data_type} is not supported by this benchmark`);
  const shape = io.dims.map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const info = dtypeInfo(datatype);
  const raw = new Uint8Array(n * info.byteSize);
  if (datatype === "UINT8") raw.set(imageBytes(Math.ceil(Math.sqrt(n / 3)), seed).subarray(0, n));
  const data = new info.array!(raw.buffer, 0, n) as Tensor["data"];
  if (datatype === "FP32") (data as Float32Array).forEach((_, i, a) => (a[i] = ((i * 131 + seed) % 256) / 255));
  if (datatype === "INT64") (data as BigInt64Array).forEach((_, i, a) => (a[i] = BigInt((i * 7 + seed) % 1000)));
  return { name: io.name, datatype, shape, data };
}

function kindOf(cfg: Record<string, unknown>): PreprocessKind {
  const platform = String(cfg.platform ?? "");
  const backend = String(cfg.backend ?? "");
  if (backend === "python") return "python";
  if (platform === "onnxruntime_onnx" || backend === "onnxruntime") return "onnx";
  return "other";
}

/** Reads the ensemble's steps and prepares both calls; the bare model's inputs come from the steps before it. */
export async function ensembleAndFloor(client: KServeClient, ensemble: string, seed = 1): Promise<EnsembleAndFloor> {
  const cfg = await client.modelConfig(ensemble);
  const steps = ((cfg.ensemble_scheduling as { step?: StepConfig[] } | undefined)?.step ?? []) as StepConfig[];
  if (steps.length === 0) throw new Error(`${ensemble} is not an ensemble (no ensemble_scheduling steps in its config)`);
  const inputs = ((cfg.input ?? []) as IoConfig[]).map((io, i) => tensorFor(io, seed + i));
  const outputs = ((cfg.output ?? []) as IoConfig[]).map((o) => o.name);
  // Run every step before the last one as the scheduler would, to get the last step's inputs.
  const tensors = new Map(inputs.map((t) => [t.name, t]));
  for (const step of steps.slice(0, -1)) {
    const stepInputs = Object.entries(step.input_map ?? {}).map(([modelInput, ensembleTensor]) => ({ ...tensors.get(ensembleTensor)!, name: modelInput }));
    const produced = await client.infer(step.model_name, stepInputs, Object.keys(step.output_map ?? {}));
    for (const t of produced) tensors.set(step.output_map![t.name]!, t);
  }
  const last = steps[steps.length - 1]!;
  const bareInputs = Object.entries(last.input_map ?? {}).map(([modelInput, ensembleTensor]) => ({ ...tensors.get(ensembleTensor)!, name: modelInput }));
  const bareOutputs = Object.entries(last.output_map ?? {});
  const preprocess = steps.length > 1 ? { model: steps[0]!.model_name, kind: kindOf(await client.modelConfig(steps[0]!.model_name)) } : null;
  const callBare = async () => {
    const out = await client.infer(last.model_name, bareInputs, bareOutputs.map(([m]) => m));
    return out.map((t) => ({ ...t, name: last.output_map![t.name]! }));
  };
  const callEnsemble = () => client.infer(ensemble, inputs, outputs);
  const same = (a: Tensor[], b: Tensor[]) =>
    a.length === b.length &&
    a.every((t) => {
      const u = b.find((x) => x.name === t.name);
      return u !== undefined && Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength));
    });
  if (!same(await callEnsemble(), await callBare())) throw new Error(`${ensemble} and its bare model ${last.model_name} answer differently for the same image: comparing their speed would be meaningless`);
  return { ensemble, bare: last.model_name, preprocess, callEnsemble, callBare };
}
