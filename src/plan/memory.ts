// The serial memory model (design.md §6): the pipeline calls one model at a time, so the VRAM a set
// of models needs is what they all hold while loaded plus the largest extra any one of them takes
// while it runs. Pure arithmetic, kept apart so the plan and its printout show the same numbers.

/** VRAM of one ONNX model (preprocess steps and ensembles run on the CPU and cost none). */
export interface MemoryUse {
  residentMiB: number;
  peakMiB: number;
  /** Where the numbers come from: the spec's estimate or a bench measurement. */
  source: string;
}

/** The arithmetic of one admission decision, at the moment it was taken. */
export interface FitCheck {
  /** sum(resident) of the set including the candidate. */
  residentMiB: number;
  /** max(peak) of the set including the candidate. */
  peakMiB: number;
  /** residentMiB + peakMiB. */
  needMiB: number;
  budgetMiB: number;
  fits: boolean;
}

export function serialNeed(set: readonly MemoryUse[]): { residentMiB: number; peakMiB: number; needMiB: number } {
  const residentMiB = set.reduce((s, m) => s + m.residentMiB, 0);
  const peakMiB = set.reduce((s, m) => Math.max(s, m.peakMiB), 0);
  return { residentMiB, peakMiB, needMiB: residentMiB + peakMiB };
}

/** Does `set` fit in `budgetMiB` under the serial policy? */
export function serialFit(set: readonly MemoryUse[], budgetMiB: number): FitCheck {
  const need = serialNeed(set);
  return { ...need, budgetMiB, fits: need.needMiB <= budgetMiB };
}

/** "2840 + 3200 = 6040 > 5120 MiB": the sum the user can check by hand. */
export function formatFit(f: FitCheck): string {
  return `${f.residentMiB} + ${f.peakMiB} = ${f.needMiB} ${f.fits ? "<=" : ">"} ${f.budgetMiB} MiB`;
}
