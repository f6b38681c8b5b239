// One loaded model version: its config, signature, backend and statistics, and the count of runs in
// flight, so an unload or a reload waits for them before the backend is closed (as Triton does).
import { performance } from "node:perf_hooks";
import type { ModelConfig } from "../config/index.ts";
import type { Tensor } from "../kserve/index.ts";
import type { Backend } from "./backend.ts";
import { checkInputs, checkOutputNames, type Signature } from "./signature.ts";
import { ModelStats } from "./stats.ts";

export class ServedModel {
  readonly stats = new ModelStats();
  private inflight = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly config: ModelConfig,
    readonly signature: Signature,
    readonly backend: Backend,
  ) {}

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
   * Checks the inputs and output names against the config, runs the backend, records statistics.
   * The caller holds an acquire() around it.
   */
  async execute(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const t0 = performance.now();
    try {
      checkInputs(this.name, this.signature, inputs);
      checkOutputNames(this.name, this.signature, outputs);
    } catch (e) {
      this.stats.fail((performance.now() - t0) * 1e6, "OTHER");
      throw e;
    }
    const t1 = performance.now();
    try {
      const result = await this.backend.run(inputs, outputs);
      const t2 = performance.now();
      this.stats.success({ inputNs: (t1 - t0) * 1e6, inferNs: (t2 - t1) * 1e6, outputNs: 0 });
      return result;
    } catch (e) {
      // Triton counts a backend's error as BACKEND, an ensemble step's as OTHER (core
      // backend_model_instance.cc, ensemble_scheduler.cc r24.08).
      this.stats.fail((performance.now() - t0) * 1e6, this.backend.kind === "ensemble" ? "OTHER" : "BACKEND");
      throw e;
    }
  }

  /** Waits for runs in flight, then closes the backend. */
  async retire(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.backend.close();
  }
}
