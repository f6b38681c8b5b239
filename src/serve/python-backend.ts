// Python-backend models: each instance of the config's instance_group is one persistent python3
// process running the model's model.py (src/python/step-host.ts), given the `args` Triton gives
// initialize(). A request goes to the least busy instance; an instance whose process died is started
// again before its next request, as Triton restarts an unhealthy stub. Tensors go to and from each
// process through shared memory (/dev/shm), as Triton's Python backend moves them; where that cannot
// be had, through its pipes, and serve-local says so once.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { modelConfigToJson, type ModelConfig } from "../config/index.ts";
import { dataFromBytes, type Tensor } from "../kserve/index.ts";
import { PythonStep, PythonStepError } from "../python/step-host.ts";
import { instanceCount, type Backend } from "./backend.ts";
import { LoadError } from "./model-dir.ts";
import type { Signature } from "./signature.ts";

/** Raised by a run: the model's own error (e.g. a TritonError it returned), shown to the caller. */
export class ModelExecutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelExecutionError";
  }
}

interface Instance {
  step: PythonStep;
  pending: number;
  args: Record<string, string>;
}

let interpreter: Promise<string> | undefined;

/**
 * The python3 that will run the steps, resolved once to its real executable: version-manager shims
 * (pyenv) start a shell script before Python, about half a second per step process at start-up.
 */
function python(): Promise<string> {
  const asked = process.env.PYTHON ?? "python3";
  interpreter ??= new Promise((resolve) => {
    execFile(asked, ["-c", "import sys; print(sys.executable)"], { timeout: 30_000 }, (err, stdout) => {
      const real = stdout.trim();
      resolve(err || !real || !existsSync(real) ? asked : real);
    });
  });
  return interpreter;
}

let numpyCheck: Promise<string | undefined> | undefined;
const toldFallbacks = new Set<string>();

/** Why the steps exchange tensors over pipes (slower) instead of shared memory: one line per reason, however many steps. */
function sharedMemoryFallback(why: string): void {
  if (toldFallbacks.has(why)) return;
  toldFallbacks.add(why);
  process.stderr.write(`serve-local: Python steps: ${why}\n`);
}

/** Starts one instance's process. */
async function startStep(modelPy: string, args: Record<string, string>): Promise<PythonStep> {
  return PythonStep.start(modelPy, args, await python(), { onFallback: sharedMemoryFallback });
}

/** What to do when the python3 `exe` has no numpy. */
export function numpyFix(exe: string): string {
  return `install numpy for it (${exe} -m pip install numpy), set PYTHON to a python3 that has numpy, or write the repository with synth-repo --preprocess onnx (no Python steps)`;
}

/**
 * Why the python3 that runs the steps cannot run any of them (it cannot import numpy), checked once
 * per process; undefined when it can. Every Python model then fails to load with this one reason
 * instead of starting a process per instance that dies with a traceback.
 */
export function pythonStepProblem(): Promise<string | undefined> {
  numpyCheck ??= python().then(
    (exe) =>
      new Promise((resolve) => {
        execFile(exe, ["-c", "import numpy"], { timeout: 60_000 }, (err, _stdout, stderr) => {
          const why = stderr.trim().split("\n").at(-1) || (err?.message ?? "");
          resolve(err ? `${exe} cannot import numpy (${why})` : undefined);
        });
      }),
  );
  return numpyCheck;
}

/**
 * The start-up lines for models that did not load: those that failed for want of numpy as one
 * message with the fix (however many there are), every other one as its own line.
 */
export async function loadProblemLines(problems: readonly { name: string; reason: string }[]): Promise<string[]> {
  const numpy = problems.length > 0 ? await pythonStepProblem() : undefined;
  const byNumpy = numpy ? problems.filter((p) => p.reason.includes(numpy)) : [];
  const lines = problems.filter((p) => !byNumpy.includes(p)).map((p) => `failed to load '${p.name}': ${p.reason}`);
  if (byNumpy.length === 0) return lines;
  const names = byNumpy.map((p) => p.name).sort();
  const shown = names.length > 6 ? `${names.slice(0, 6).join(", ")} and ${names.length - 6} more` : names.join(", ");
  return [`${numpy}: the Python steps cannot run, so ${names.length} model(s) are UNAVAILABLE (${shown})\n  fix: ${numpyFix(await python())}`, ...lines];
}

export class PythonBackend implements Backend {
  readonly kind = "python";

  private constructor(
    private readonly modelPy: string,
    private readonly instances: Instance[],
    private readonly sig: Signature,
    private readonly model: string,
  ) {}

  static async create(dir: string, version: string, model: string, cfg: ModelConfig, sig: Signature): Promise<PythonBackend> {
    const modelPy = join(dir, version, cfg.default_model_filename || "model.py");
    if (!existsSync(modelPy)) throw new LoadError(`model '${model}' version ${version}: ${modelPy} is missing`);
    const noNumpy = await pythonStepProblem();
    if (noNumpy) throw new LoadError(`model '${model}' version ${version}: ${noNumpy}`);
    const config = JSON.stringify(modelConfigToJson(cfg));
    const argsFor = (i: number): Record<string, string> => ({
      model_config: config,
      model_instance_kind: "CPU",
      model_instance_name: `${model}_0_${i}`,
      model_instance_device_id: "0",
      model_repository: dir,
      model_version: version,
      model_name: model,
    });
    const instances: Instance[] = [];
    try {
      for (let i = 0; i < instanceCount(cfg); i++) {
        const args = argsFor(i);
        instances.push({ step: await startStep(modelPy, args), pending: 0, args });
      }
    } catch (e) {
      await Promise.all(instances.map((x) => x.step.close()));
      throw new LoadError(`model '${model}' version ${version}: ${modelPy} failed to initialize: ${e instanceof Error ? e.message : String(e)}`, "Internal");
    }
    return new PythonBackend(modelPy, instances, sig, model);
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const inst = this.instances.reduce((a, b) => (b.pending < a.pending ? b : a));
    inst.pending++;
    try {
      if (!inst.step.alive) inst.step = await startStep(this.modelPy, inst.args);
      const got = await inst.step.execute(
        inputs.map((t) => ({ name: t.name, dtype: t.datatype, shape: t.shape, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) })),
        [...outputs],
      );
      return outputs.map((name) => {
        const t = got.find((g) => g.name === name);
        if (!t) throw new ModelExecutionError(`model '${this.model}' returned no output '${name}' (it returned ${got.map((g) => `'${g.name}'`).join(", ") || "none"})`);
        const want = this.sig.outputs.find((s) => s.name === name)!;
        if (t.dtype !== want.datatype) throw new ModelExecutionError(`model '${this.model}' output '${name}' is ${t.dtype}, its configuration says ${want.datatype}`);
        return { name, datatype: t.dtype, shape: t.shape, data: dataFromBytes(t.dtype, t.data, `output '${name}' of model '${this.model}'`) };
      });
    } catch (e) {
      if (e instanceof PythonStepError) throw new ModelExecutionError(`model '${this.model}': ${e.message}`);
      throw e;
    } finally {
      inst.pending--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.step.close()));
  }

  /** Kills every process at once (shutdown that cannot wait). */
  kill(): void {
    for (const i of this.instances) i.step.kill();
  }
}
