// The models serve-local knows and their states, as Triton's model repository manager keeps them:
// READY, UNAVAILABLE (with the reason: a load error, "unloaded", or a step model that is missing),
// LOADING, UNLOADING. Loads and unloads happen one at a time; a reload keeps the old version serving
// until the new one is ready and keeps it when the new one fails; an unload waits for in-flight
// runs. An ensemble is READY only while every step model is READY and checkEnsemble passes.
import { checkEnsemble, type ModelConfig } from "../config/index.ts";
import { formatProblem } from "../errors.ts";
import { ProtocolError, type ModelState, type RepositoryIndexEntry } from "../kserve/index.ts";
import type { BackendKind } from "./backend.ts";
import { LoadError, modelDirectories } from "./model-dir.ts";
import { loadModelDir } from "./model-loader.ts";
import type { ServedModel } from "./served-model.ts";

interface Entry {
  name: string;
  state: ModelState;
  reason: string;
  /** Asked to be loaded (at start-up or by the load API) and not unloaded since. */
  wanted: boolean;
  config?: ModelConfig;
  kind?: BackendKind;
  versions: Map<string, ServedModel>;
}

const LOAD_CONCURRENCY = 4;

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly repo: string) {}

  /** Start-up: every model directory, or only `names` (explicit mode); failures become UNAVAILABLE. */
  async loadInitial(names?: readonly string[]): Promise<void> {
    const all = names ? [...new Set(names)] : await modelDirectories(this.repo);
    const attempts = all.map((n) => () => this.loadOne(n).catch(() => undefined));
    // Non-ensembles first is not needed for correctness (ensembles re-check on every change), but
    // parallel loads are bounded: each Python step is a python3 process starting numpy.
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, attempts.length) }, async () => {
      while (next < attempts.length) await attempts[next++]!();
    }));
    this.refreshEnsembles();
  }

  /** POST /v2/repository/models/{m}/load: (re)reads the directory; throws ProtocolError with the reason. */
  load(name: string): Promise<void> {
    return this.serial(async () => {
      if (!this.entries.has(name) && !(await modelDirectories(this.repo)).includes(name)) {
        throw new ProtocolError(`failed to load '${name}': no model directory '${name}' in the repository ${this.repo}`);
      }
      await this.loadOne(name);
      const e = this.entries.get(name)!;
      if (e.state !== "READY") throw new ProtocolError(`failed to load '${name}': ${e.reason}`);
    });
  }

  /** POST /v2/repository/models/{m}/unload. */
  unload(name: string): Promise<void> {
    return this.serial(async () => {
      const e = this.entries.get(name);
      if (!e) {
        if ((await modelDirectories(this.repo)).includes(name)) return;
        throw new ProtocolError(`failed to unload '${name}': no such model in the repository`);
      }
      e.wanted = false;
      e.state = "UNLOADING";
      const old = [...e.versions.values()];
      e.versions = new Map();
      this.refreshEnsembles();
      await Promise.all(old.map((m) => m.retire()));
      if (!e.wanted) Object.assign(e, { state: "UNAVAILABLE", reason: "unloaded" });
      this.refreshEnsembles();
    });
  }

  /** A READY version for a request (version undefined or -1: the latest); the caller must release() it. */
  acquire(name: string, version?: string): ServedModel {
    const m = this.resolve(name, version);
    m.acquire();
    return m;
  }

  resolve(name: string, version?: string): ServedModel {
    const e = this.entries.get(name);
    if (!e) throw new ProtocolError(`Request for unknown model: '${name}' is not found`, 404);
    if (e.state !== "READY" || e.versions.size === 0) throw new ProtocolError(`model '${name}' is not ready: ${e.state}${e.reason ? ` (${e.reason})` : ""}`, 503);
    if (version === undefined || version === "-1") return [...e.versions.values()].at(-1)!;
    const m = e.versions.get(version);
    if (!m) throw new ProtocolError(`Request for unknown model: '${name}' version ${version} is not found (loaded: ${[...e.versions.keys()].join(", ")})`, 404);
    return m;
  }

  /** The config of a model whose config.pbtxt was read (loaded or not ready). */
  config(name: string): ModelConfig {
    const e = this.entries.get(name);
    if (!e?.config || !e.wanted) throw new ProtocolError(`Request for unknown model: '${name}' is not found`, 404);
    return e.config;
  }

  /** Every loaded version of a model (for statistics), or of every model. */
  servedVersions(name?: string): ServedModel[] {
    if (name === undefined) return [...this.entries.values()].flatMap((e) => [...e.versions.values()]);
    const e = this.entries.get(name);
    if (!e || e.versions.size === 0) throw new ProtocolError(`Request for unknown model: '${name}' is not found`, 404);
    return [...e.versions.values()];
  }

  /** POST /v2/repository/index: every model directory plus every model known; never-loaded ones as UNAVAILABLE "unloaded". */
  async index(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    const dirs = await modelDirectories(this.repo).catch(() => [] as string[]);
    const names = [...new Set([...dirs, ...this.entries.keys()])].sort();
    const rows = names.flatMap((name): RepositoryIndexEntry[] => {
      const e = this.entries.get(name);
      if (!e) return [{ name, state: "UNAVAILABLE", reason: "unloaded" }];
      if (e.versions.size === 0) return [{ name, state: e.state, reason: e.reason }];
      return [...e.versions.keys()].map((version) => ({ name, version, state: e.state, reason: e.reason }));
    });
    return readyOnly ? rows.filter((r) => r.state === "READY") : rows;
  }

  /** Like --strict-readiness=true: every model asked to be loaded is READY. */
  allReady(): boolean {
    return [...this.entries.values()].every((e) => !e.wanted || e.state === "READY");
  }

  /** Models asked to be loaded, by state (for the start-up line). */
  counts(): { ready: number; unavailable: number } {
    const wanted = [...this.entries.values()].filter((e) => e.wanted);
    const ready = wanted.filter((e) => e.state === "READY").length;
    return { ready, unavailable: wanted.length - ready };
  }

  /** Every model asked to be loaded that is not READY, with its reason. */
  problems(): { name: string; state: string; reason: string }[] {
    return [...this.entries.values()].filter((e) => e.wanted && e.state !== "READY").map((e) => ({ name: e.name, state: e.state, reason: e.reason }));
  }

  /** Closes every backend (Python children, ONNX sessions), waiting for runs in flight. */
  async close(): Promise<void> {
    const all = [...this.entries.values()].flatMap((e) => [...e.versions.values()]);
    for (const e of this.entries.values()) Object.assign(e, { versions: new Map(), state: "UNAVAILABLE", reason: "server shutting down" });
    await Promise.all(all.map((m) => m.retire()));
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loadOne(name: string): Promise<void> {
    let e = this.entries.get(name);
    if (!e) this.entries.set(name, (e = { name, state: "LOADING", reason: "", wanted: true, versions: new Map() }));
    e.wanted = true;
    if (e.state !== "READY") Object.assign(e, { state: "LOADING", reason: "" });
    try {
      const loaded = await loadModelDir(this.repo, name, (m, v) => this.resolve(m, v === -1 ? undefined : String(v)));
      // An ensemble that would not be READY must not replace one that is.
      const problem = loaded.kind === "ensemble" && e.state === "READY" ? this.ensembleProblem(loaded.config) : "";
      if (problem) {
        await Promise.all([...loaded.versions.values()].map((m) => m.retire()));
        throw new LoadError(problem);
      }
      const old = [...e.versions.values()];
      Object.assign(e, { state: "READY", reason: "", config: loaded.config, kind: loaded.kind, versions: loaded.versions });
      this.refreshEnsembles();
      await Promise.all(old.map((m) => m.retire()));
    } catch (err) {
      if (!(err instanceof LoadError)) throw err;
      // A failed reload leaves the loaded version serving, as Triton does.
      if (e.state === "READY" && e.versions.size > 0) throw new ProtocolError(`failed to load '${name}' (the loaded version keeps serving): ${err.reason}`);
      Object.assign(e, { state: "UNAVAILABLE", reason: err.reason });
      this.refreshEnsembles();
    }
  }

  /** Re-derives every loaded ensemble's state from its step models, until nothing changes (ensembles of ensembles). */
  private refreshEnsembles(): void {
    for (let round = 0; round < 8; round++) {
      let changed = false;
      for (const e of this.entries.values()) {
        if (e.kind !== "ensemble" || !e.wanted || e.versions.size === 0 || !e.config) continue;
        const reason = this.ensembleProblem(e.config);
        const state: ModelState = reason ? "UNAVAILABLE" : "READY";
        if (state !== e.state || reason !== e.reason) {
          Object.assign(e, { state, reason });
          changed = true;
        }
      }
      if (!changed) return;
    }
  }

  private ensembleProblem(cfg: ModelConfig): string {
    const steps = cfg.ensemble_scheduling?.step ?? [];
    const configs = new Map<string, ModelConfig>();
    for (const s of steps) {
      const m = s.model_name ?? "";
      const step = this.entries.get(m);
      if (!step || !step.wanted) return `step model '${m}' is not loaded`;
      if (step.state !== "READY") return `step model '${m}' is ${step.state}${step.reason ? `: ${step.reason}` : ""}`;
      configs.set(m, step.config!);
    }
    const problems = checkEnsemble(cfg, configs);
    return problems.map((p) => formatProblem(p).replace(/\n\s+/g, " ")).join("; ");
  }
}
