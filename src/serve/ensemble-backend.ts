// Ensembles stepped as Triton's ensemble scheduler steps them: a step runs as soon as every tensor
// its input_map names exists (an ensemble input or another step's output), so independent steps
// overlap; intermediate tensors stay in memory, renamed through input_map/output_map (key = the step
// model's tensor, value = the ensemble's). Step models are looked up at run time, so a reloaded step
// serves the next request, and each step passes its model's own input checks.
import type { EnsembleStep, ModelConfig } from "../config/index.ts";
import type { Tensor } from "../kserve/index.ts";
import type { Backend } from "./backend.ts";
import { ModelExecutionError } from "./python-backend.ts";
import type { ServedModel } from "./served-model.ts";

/** Finds a READY step model (version -1: the latest), or throws naming why not. */
export type StepResolver = (model: string, version: number) => ServedModel;

interface Deferred {
  promise: Promise<Tensor>;
  resolve(t: Tensor): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (t: Tensor) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Tensor>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a tensor nobody waits for must not become an unhandled rejection
  return { promise, resolve, reject };
}

export class EnsembleBackend implements Backend {
  readonly kind = "ensemble";
  private readonly steps: EnsembleStep[];

  constructor(
    private readonly name: string,
    cfg: ModelConfig,
    private readonly resolve: StepResolver,
  ) {
    this.steps = cfg.ensemble_scheduling?.step ?? [];
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const tensors = new Map<string, Deferred>();
    const slot = (n: string) => {
      let d = tensors.get(n);
      if (!d) tensors.set(n, (d = deferred()));
      return d;
    };
    for (const t of inputs) slot(t.name).resolve(t);
    const produced = new Set(this.steps.flatMap((s) => Object.values(s.output_map ?? {})));
    for (const s of this.steps) {
      for (const v of Object.values(s.input_map ?? {})) {
        if (!produced.has(v) && !inputs.some((t) => t.name === v)) slot(v).reject(new ModelExecutionError(`ensemble '${this.name}': tensor '${v}' was not sent and no step produces it`));
      }
    }
    const failAll = (e: unknown) => {
      for (const d of tensors.values()) d.reject(e);
    };
    const runs = this.steps.map((s, i) => this.runStep(s, i, slot).catch((e: unknown) => {
      failAll(e);
      throw e;
    }));
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return Promise.all(outputs.map(async (n) => ({ ...(await slot(n).promise), name: n })));
  }

  private async runStep(s: EnsembleStep, i: number, slot: (n: string) => Deferred): Promise<void> {
    const inMap = Object.entries(s.input_map ?? {});
    const outMap = Object.entries(s.output_map ?? {});
    const stepInputs = await Promise.all(inMap.map(async ([key, tensor]) => ({ ...(await slot(tensor).promise), name: key })));
    const model = this.resolve(s.model_name ?? "", s.model_version ?? -1);
    model.acquire();
    let result: Tensor[];
    try {
      result = await model.execute(stepInputs, outMap.map(([key]) => key));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw Object.assign(new ModelExecutionError(`ensemble '${this.name}' step[${i}] (${model.name}): ${why}`), { status: (e as { status?: number }).status });
    } finally {
      model.release();
    }
    outMap.forEach(([, tensor], j) => slot(tensor).resolve({ ...result[j]!, name: tensor }));
  }

  async close(): Promise<void> {
    // Nothing of its own: the step models belong to the registry.
  }
}
