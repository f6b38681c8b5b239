// One loaded model version: its config, signature, backend and statistics, and the count of runs in
// flight, so an unload or a reload waits for them before the backend is closed (as Triton does).
//
// A request's life, timed as Triton 24.08 times it:
// - It is checked against the config first (core src/tritonserver.cc TRITONSERVER_ServerInferAsync
//   calls InferenceRequest::PrepareForInference, whose Normalize checks inputs and outputs, before
//   InferAsync stamps the request and queues it): a request that fails the check is answered 400 and
//   counted nowhere, neither in the statistics' fail nor in nv_inference_request_failure.
// - It then waits for a free instance (instance_group count; Triton's scheduler queue) and runs. Its
//   queue time is from its arrival to the start of its run (core src/infer_stats.cc: compute start −
//   queue start). Triton stamps the arrival after its HTTP front end has read the body; serve-local
//   stamps it when the request arrives (src/serve/infer.ts), before reading the body, so time spent
//   behind a synchronous ONNX Runtime run on the server's one thread is queue time too, never lost.
// - An ensemble has no instances: its steps run as their models' own requests, and its compute is the
//   sum of its steps' compute (core src/ensemble_scheduler/ensemble_scheduler.cc: steps report into
//   the request's context aggregator, which the ensemble reports with its duration); its queue is the
//   time before its steps were dispatched.
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import { Semaphore } from "../concurrency.ts";
import type { ModelConfig } from "../config/index.ts";
import type { Tensor } from "../kserve/index.ts";
import { instanceCount, type Backend } from "./backend.ts";
import { checkInputs, checkOutputNames, type Signature } from "./signature.ts";
import { ModelStats, type Compute } from "./stats.ts";

/** The compute of the ensemble request a step runs for, which the step adds its own to. */
const ensembleCompute = new AsyncLocalStorage<Compute>();

const NS_PER_MS = 1e6;

export class ServedModel {
  private inflight = 0;
  private drained: (() => void) | undefined;
  /** Free instances; none for an ensemble (its scheduler dispatches steps at once). */
  private readonly instances: Semaphore | undefined;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly config: ModelConfig,
    readonly signature: Signature,
    readonly backend: Backend,
    /** Its statistics, from the load on (warm-up runs count, src/serve/warmup.ts). */
    readonly stats: ModelStats = new ModelStats(),
  ) {
    this.instances = backend.kind === "ensemble" ? undefined : new Semaphore(instanceCount(config));
  }

  /** The platform as metadata reports it: the config's platform, else its backend. */
  get platform(): string {
    return this.config.platform || this.config.backend || "";
  }

  acquire(): void {
    this.inflight++;
  }

  release(): void {
    this.inflight--;
    if (this.inflight === 0) this.drained?.();
  }

  /**
   * Checks the inputs and output names against the config, waits for a free instance, runs the
   * backend, records statistics. `arrivedMs` (performance.now()) is when the request arrived; an
   * ensemble step arrives when it is dispatched. The caller holds an acquire() around it.
   */
  async execute(inputs: readonly Tensor[], outputs: readonly string[], arrivedMs = performance.now()): Promise<Tensor[]> {
    checkInputs(this.name, this.signature, inputs);
    checkOutputNames(this.name, this.signature, outputs);
    const outer = ensembleCompute.getStore();
    await this.instances?.acquire();
    const start = performance.now();
    try {
      const steps: Compute = { inputNs: 0, inferNs: 0, outputNs: 0 };
      const result = this.backend.kind === "ensemble" ? await ensembleCompute.run(steps, () => this.backend.run(inputs, outputs)) : await this.backend.run(inputs, outputs);
      const end = performance.now();
      // the backends here run on the request's own tensors and answer with ONNX Runtime's or the
      // step's, so there is no input or output copy to time apart from the run
      const compute = this.backend.kind === "ensemble" ? steps : { inputNs: 0, inferNs: (end - start) * NS_PER_MS, outputNs: 0 };
      const batch = this.signature.maxBatchSize > 0 ? (inputs[0]?.shape[0] ?? 1) : 0;
      this.stats.success({ requestNs: (end - arrivedMs) * NS_PER_MS, queueNs: (start - arrivedMs) * NS_PER_MS, ...compute }, batch);
      this.stats.executed(batch, compute);
      if (outer) {
        outer.inputNs += compute.inputNs;
        outer.inferNs += compute.inferNs;
        outer.outputNs += compute.outputNs;
      }
      return result;
    } catch (e) {
      // Triton counts a backend's error as BACKEND, an ensemble step's as OTHER (core
      // backend_model_instance.cc, ensemble_scheduler.cc r24.08).
      this.stats.fail((performance.now() - arrivedMs) * NS_PER_MS, this.backend.kind === "ensemble" ? "OTHER" : "BACKEND");
      throw e;
    } finally {
      this.instances?.release();
    }
  }

  /** Waits for runs in flight, then closes the backend. */
  async retire(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.backend.close();
  }
}
