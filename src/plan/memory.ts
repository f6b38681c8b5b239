// The memory models (design.md §6). serial: the pipeline calls one model at a time and every ONNX
// Runtime arena shrinks after its run, so a set of models needs what they all hold while loaded plus
// the largest extra any one of them takes while it runs. resident: no shrinkage, every arena keeps
// its peak, so the extras add up. Which one holds on Triton is decided by the configs and the server's
// flags (src/config/ort-memory.ts: shrinkage, and under serial a rate limiter that runs one GPU model
// at a time). Pure arithmetic, kept apart so the plan and its printout show the same numbers.
import type { MemoryPolicy } from "../config/ort-memory.ts";

/** VRAM of one ONNX model (preprocess steps and ensembles run on the CPU and cost none). */
export interface MemoryUse {
  /** Held while loaded, TensorRT's context memory included where the profile runs it (see workspaceMiB). */
  residentMiB: number;
  /** Extra while it runs. */
  peakMiB: number;
  /** Where the numbers come from: the spec's estimate or a bench measurement. */
  source: string;
  /**
   * TensorRT's execution-context memory, counted at the spec's workspace and added to the resident
   * figure (ONNX Runtime holds it while the session lives); absent without TensorRT or for measured
   * figures (they include it).
   */
  workspaceMiB?: number;
}

/** The arithmetic of one admission decision, at the moment it was taken. */
export interface FitCheck {
  /** sum(resident) of the set including the candidate. */
  residentMiB: number;
  /** max(peak) (serial) or sum(peak) (resident) of the set including the candidate. */
  peakMiB: number;
  /** residentMiB + peakMiB. */
  needMiB: number;
  budgetMiB: number;
  fits: boolean;
}

/** The formula of a policy, as the plan prints it. */
export const POLICY_FORMULA: Record<MemoryPolicy, string> = {
  serial: "sum(resident) + max(peak)",
  resident: "sum(resident) + sum(peak)",
};

export function memoryNeed(policy: MemoryPolicy, set: readonly MemoryUse[]): { residentMiB: number; peakMiB: number; needMiB: number } {
  const residentMiB = set.reduce((s, m) => s + m.residentMiB, 0);
  const peakMiB = set.reduce((s, m) => (policy === "serial" ? Math.max(s, m.peakMiB) : s + m.peakMiB), 0);
  return { residentMiB, peakMiB, needMiB: residentMiB + peakMiB };
}

/** Does `set` fit in `budgetMiB` under `policy`? */
export function memoryFit(policy: MemoryPolicy, set: readonly MemoryUse[], budgetMiB: number): FitCheck {
  const need = memoryNeed(policy, set);
  return { ...need, budgetMiB, fits: need.needMiB <= budgetMiB };
}

/** "2840 + 3200 = 6040 > 5120 MiB": the sum the user can check by hand. */
export function formatFit(f: FitCheck): string {
  return `${f.residentMiB} + ${f.peakMiB} = ${f.needMiB} ${f.fits ? "<=" : ">"} ${f.budgetMiB} MiB`;
}
