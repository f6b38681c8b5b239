// Triton's ensemble rules, checked before Triton sees the repository (where a broken ensemble fails
// to load with one terse line). Follows triton-inference-server/core: ValidateEnsembleSchedulingConfig
// (model_config_utils.cc) and ValidateEnsembleConfig (ensemble_utils.cc). As in Triton, steps form a
// data-flow graph: a step may consume a tensor produced by a step listed after it, but not a cycle.

import type { Problem } from "../errors.ts";
import type { ModelConfig, ModelInput, ModelOutput } from "./model-config.ts";
import { sourcePosition } from "./text-parser.ts";

/** A tensor as one side of a mapping sees it. */
interface Side {
  what: string;
  dataType: string;
  /** Dims as Triton compares them: with a leading -1 when the model batches. */
  fullDims: number[];
  dims: number[];
}

interface Use {
  step: number;
  /** The step model's tensor name (the map key). */
  key: string;
}

/** Every broken ensemble rule, each with the field path inside the ensemble's config. */
export function checkEnsemble(ensemble: ModelConfig, models: ReadonlyMap<string, ModelConfig>): Problem[] {
  const problems: Problem[] = [];
  const add = (container: object | undefined, key: string | number, field: string, message: string, hint?: string) => {
    const pos = container ? sourcePosition(container, key) : undefined;
    problems.push({ ...pos, field, message, ...(hint ? { hint } : {}) });
  };

  if (ensemble.platform !== "ensemble") {
    add(ensemble, "platform", "platform", `platform is ${JSON.stringify(ensemble.platform ?? "")}, but an ensemble needs "ensemble"`, 'set platform: "ensemble"');
  }
  const sched = ensemble.ensemble_scheduling;
  if (!sched) {
    add(undefined, "", "ensemble_scheduling", "there is no ensemble_scheduling block", "add ensemble_scheduling { step [ … ] }");
    return problems;
  }
  if (ensemble.instance_group?.length) add(ensemble, "instance_group", "instance_group", "an ensemble must not have an instance_group (Triton refuses it)", "remove it; the step models have their own");
  if (ensemble.optimization) add(ensemble, "optimization", "optimization", "an ensemble must not have an optimization block (Triton refuses it)", "remove it");
  if (ensemble.model_warmup?.length) add(ensemble, "model_warmup", "model_warmup", "an ensemble must not have model_warmup (Triton refuses it)", "warm up the step models instead");

  const steps = sched.step ?? [];
  if (steps.length === 0) add(sched, "step", "ensemble_scheduling.step", "the ensemble has no steps", "add at least one step");
  const batching = (ensemble.max_batch_size ?? 0) > 0;
  const ensembleSide = (t: ModelInput | ModelOutput, role: string) => side(`ensemble ${role} "${t.name ?? ""}"`, t, batching, true);
  const inputs = new Map((ensemble.input ?? []).map((t, j) => [t.name ?? "", { t, j }]));
  const outputs = new Map((ensemble.output ?? []).map((t, j) => [t.name ?? "", { t, j }]));
  const producers = new Map<string, Use[]>();
  const consumers = new Map<string, Use[]>();
  const stepPath = (i: number) => `ensemble_scheduling.step[${i}]`;
  const mapPath = (i: number, map: "input_map" | "output_map", key: string) => `${stepPath(i)}.${map}[${JSON.stringify(key)}]`;
  const stepModel = (i: number) => {
    const name = steps[i]?.model_name ?? "";
    return { name, config: models.get(name) };
  };

  steps.forEach((step, i) => {
    const sp = stepPath(i);
    const { name, config: model } = stepModel(i);
    const inMap = step.input_map ?? {};
    const outMap = step.output_map ?? {};
    if (!name) add(step, "", `${sp}.model_name`, "the step has no model_name", "name the model this step runs");
    else if (!model) add(step, "model_name", `${sp}.model_name`, `step model "${name}" is not in the repository`, `models present: ${[...models.keys()].sort().join(", ") || "none"}`);
    if (Object.keys(inMap).length === 0) add(step, "", `${sp}.input_map`, "the step maps no inputs (Triton requires an input_map)", "map each input of the step model to an ensemble tensor");
    if (Object.keys(outMap).length === 0) add(step, "", `${sp}.output_map`, "the step maps no outputs (Triton requires an output_map)", "map at least one output of the step model to an ensemble tensor");

    if (model) {
      const mb = model.max_batch_size ?? 0;
      if (mb !== 0 && mb < (ensemble.max_batch_size ?? 0)) {
        add(step, "model_name", `${sp}.model_name`, `the ensemble allows max_batch_size ${ensemble.max_batch_size} but ${name} only ${mb}`, "lower the ensemble's max_batch_size or raise the model's");
      }
      const modelInputs = new Map((model.input ?? []).map((t) => [t.name ?? "", t]));
      const modelOutputs = new Map((model.output ?? []).map((t) => [t.name ?? "", t]));
      for (const k of Object.keys(inMap)) {
        if (!modelInputs.has(k)) add(inMap, k, mapPath(i, "input_map", k), `"${k}" is not an input of ${name}`, `inputs of ${name}: ${[...modelInputs.keys()].join(", ") || "none"}`);
      }
      for (const [n, t] of modelInputs) {
        if (!(n in inMap) && !t.optional) add(step, "input_map", `${sp}.input_map`, `input "${n}" of ${name} is not mapped to any ensemble tensor`, `add input_map { key: "${n}" value: "<ensemble tensor>" }`);
      }
      for (const k of Object.keys(outMap)) {
        if (!modelOutputs.has(k)) add(outMap, k, mapPath(i, "output_map", k), `"${k}" is not an output of ${name}`, `outputs of ${name}: ${[...modelOutputs.keys()].join(", ") || "none"}`);
      }
    }
    for (const [k, v] of Object.entries(inMap)) push(consumers, v, { step: i, key: k });
    for (const [k, v] of Object.entries(outMap)) push(producers, v, { step: i, key: k });
  });

  // Where each tensor comes from, and every place it is produced or consumed.
  const sourceOf = (tensor: string): Side | undefined => {
    const e = inputs.get(tensor);
    if (e) return ensembleSide(e.t, "input");
    const p = producers.get(tensor)?.[0];
    return p ? stepSide(p, "output") : undefined;
  };
  const stepSide = (u: Use, role: "input" | "output"): Side | undefined => {
    const { name, config } = stepModel(u.step);
    const t = (role === "input" ? config?.input : config?.output)?.find((x) => x.name === u.key);
    return t && config ? side(`${role} "${u.key}" of ${name} (step[${u.step}])`, t, (config.max_batch_size ?? 0) > 0, false) : undefined;
  };
  const describeUse = (u: Use) => `step[${u.step}] (${stepModel(u.step).name}) output "${u.key}"`;

  for (const [tensor, uses] of producers) {
    const outMapOf = (u: Use) => steps[u.step]?.output_map ?? {};
    if (inputs.has(tensor)) {
      for (const u of uses) add(outMapOf(u), u.key, mapPath(u.step, "output_map", u.key), `"${tensor}" is an ensemble input, so no step may produce it`, "map the output to a new tensor name");
    }
    for (const u of uses.slice(1)) {
      add(outMapOf(u), u.key, mapPath(u.step, "output_map", u.key), `tensor "${tensor}" is produced twice: by ${describeUse(uses[0]!)} and by ${describeUse(u)}`, "give each produced tensor its own name");
    }
    if (!consumers.has(tensor) && !outputs.has(tensor)) {
      const u = uses[0]!;
      add(outMapOf(u), u.key, mapPath(u.step, "output_map", u.key), `tensor "${tensor}" is neither consumed by a step nor an ensemble output (Triton refuses unused tensors)`, "drop it from output_map, or add it to the ensemble's output");
    }
    const out = outputs.get(tensor);
    if (out) for (const u of uses) compare(tensor, stepSide(u, "output"), ensembleSide(out.t, "output"), outMapOf(u), u.key, mapPath(u.step, "output_map", u.key));
  }

  for (const [tensor, uses] of consumers) {
    const source = sourceOf(tensor);
    for (const u of uses) {
      const inMap = steps[u.step]?.input_map ?? {};
      const path = mapPath(u.step, "input_map", u.key);
      if (!inputs.has(tensor) && !producers.has(tensor)) {
        const known = [...inputs.keys(), ...producers.keys()].join(", ") || "none";
        add(inMap, u.key, path, `"${tensor}" is neither an ensemble input nor produced by any step`, `tensors available: ${known}`);
      } else compare(tensor, source, stepSide(u, "input"), inMap, u.key, path);
    }
  }

  for (const [n, { j }] of inputs) {
    if (!consumers.has(n)) add(ensemble.input, j, `input[${j}]`, `ensemble input "${n}" is not consumed by any step`, `map it in a step's input_map, or remove it`);
  }
  for (const [n, { j }] of outputs) {
    if (!producers.has(n)) add(ensemble.output, j, `output[${j}]`, `ensemble output "${n}" is not produced by any step`, `map a step model's output to "${n}" in its output_map`);
  }

  const cycle = findCycle(steps.length, producers, consumers);
  if (cycle) {
    const chain = cycle.map((i) => `step[${i}] (${stepModel(i).name})`).join(" → ");
    add(sched, "step", "ensemble_scheduling.step", `the steps form a cycle: ${chain}`, "a step cannot consume a tensor that depends on its own output");
  }
  return problems;

  function compare(tensor: string, a: Side | undefined, b: Side | undefined, container: object, key: string, field: string): void {
    if (!a || !b) return;
    if (a.dataType !== b.dataType) {
      add(container, key, field, `data type mismatch on tensor "${tensor}": ${a.what} is ${a.dataType}, ${b.what} is ${b.dataType}`, "make both sides the same data type");
    }
    if (!sameDims(a.dims, b.dims) && !sameDims(a.fullDims, b.fullDims)) {
      add(container, key, field, `shape mismatch on tensor "${tensor}": ${a.what} is ${fmt(a.fullDims)}, ${b.what} is ${fmt(b.fullDims)}`, "make both sides the same shape (-1 matches any size)");
    }
  }
}

function side(what: string, t: ModelInput | ModelOutput, batching: boolean, useReshape: boolean): Side {
  // Triton compares an ensemble's own inputs and outputs by their reshape when one is given.
  const dims = [...((useReshape && t.reshape ? t.reshape.shape : t.dims) ?? [])];
  return { what, dataType: t.data_type ?? "TYPE_INVALID", dims, fullDims: batching ? [-1, ...dims] : dims };
}

/** Same rank and every dimension equal, or -1 (variable) on either side. */
function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);
}

function fmt(dims: readonly number[]): string {
  return `[${dims.join(", ")}]`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** A cycle of step indices (first repeated at the end), or undefined when the steps form a DAG. */
function findCycle(n: number, producers: Map<string, Use[]>, consumers: Map<string, Use[]>): number[] | undefined {
  const next = Array.from({ length: n }, () => new Set<number>());
  for (const [tensor, made] of producers) for (const p of made) for (const c of consumers.get(tensor) ?? []) next[p.step]!.add(c.step);
  const state = new Array<0 | 1 | 2>(n).fill(0); // 0 unseen, 1 on the path, 2 done
  const path: number[] = [];
  const visit = (i: number): number[] | undefined => {
    state[i] = 1;
    path.push(i);
    for (const j of next[i]!) {
      if (state[j] === 1) return [...path.slice(path.indexOf(j)), j];
      if (state[j] === 0) {
        const c = visit(j);
        if (c) return c;
      }
    }
    path.pop();
    state[i] = 2;
    return undefined;
  };
  for (let i = 0; i < n; i++) if (state[i] === 0) {
    const c = visit(i);
    if (c) return c;
  }
  return undefined;
}
