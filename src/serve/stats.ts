// Per model version counters in the shape of Triton's statistics extension (GET /v2/models/{m}/stats):
// success/fail counts with their total durations, and the compute phases. serve-local has no queue
// (a request runs as soon as it arrives), so queue stays at zero.
import type { ModelStatistics, StatDuration } from "../kserve/index.ts";

const zero = (): StatDuration => ({ count: 0, ns: 0 });

export interface Phases {
  /** Checking and preparing inputs. */
  inputNs: number;
  /** The backend's run. */
  inferNs: number;
  /** Preparing outputs. */
  outputNs: number;
}

export class ModelStats {
  private lastInference = 0;
  private count = 0;
  private readonly s = { success: zero(), fail: zero(), queue: zero(), compute_input: zero(), compute_infer: zero(), compute_output: zero(), cache_hit: zero(), cache_miss: zero() };

  success(p: Phases): void {
    this.count++;
    this.lastInference = Date.now();
    const add = (d: StatDuration, ns: number) => {
      d.count++;
      d.ns += ns;
    };
    add(this.s.success, p.inputNs + p.inferNs + p.outputNs);
    add(this.s.compute_input, p.inputNs);
    add(this.s.compute_infer, p.inferNs);
    add(this.s.compute_output, p.outputNs);
    add(this.s.queue, 0);
  }

  fail(ns: number): void {
    this.lastInference = Date.now();
    this.s.fail.count++;
    this.s.fail.ns += ns;
  }

  toJson(name: string, version: string): ModelStatistics {
    const copy = (d: StatDuration): StatDuration => ({ count: d.count, ns: Math.round(d.ns) });
    const st = this.s;
    return {
      name,
      version,
      last_inference: this.lastInference,
      inference_count: this.count,
      execution_count: this.count,
      inference_stats: {
        success: copy(st.success),
        fail: copy(st.fail),
        queue: copy(st.queue),
        compute_input: copy(st.compute_input),
        compute_infer: copy(st.compute_infer),
        compute_output: copy(st.compute_output),
        cache_hit: copy(st.cache_hit),
        cache_miss: copy(st.cache_miss),
      },
      batch_stats: [],
    };
  }
}
