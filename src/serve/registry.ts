// The models serve-local knows and their states, kept as Triton 24.08's model repository manager and
// model lifecycle keep them (core src/model_repository_manager/*.cc, r24.08):
// - a model is in the lifecycle once a load was attempted on a config that could be read; one whose
//   directory or config.pbtxt cannot be read fails the poll and never enters it (its previous state,
//   if it had one, stays as it was: model_repository_manager.cc Poll, "failed to poll"); the index
//   lists every model directory, never-loaded ones by name only, the others per version with state
//   and (unless READY) reason;
// - loading an ensemble polls and loads its step models first; an ensemble is READY only while every
//   step model is READY and the ensemble check passes; one that fails that check is invalid in the
//   dependency graph and is never handed to the lifecycle (ModelsToLoadUnload/CheckNode: an invalid
//   node is unloaded, which for a model the lifecycle never held does nothing), so it too is a
//   name-only row, its reason in the load API's answer only; when a missing step model is loaded
//   again, the ensembles waiting for it load too;
// - unloading a model unloads the ensembles that use it (reason "unloaded"); `unload_dependents`
//   also unloads step models nobody asked for by name; the server stays ready after an unload;
// - a load of an unchanged READY model is a no-op; a failed reload keeps the loaded version serving.
// Loads and unloads happen one at a time; an unload waits for runs in flight.
import { forEachLimited } from "../concurrency.ts";
import { checkEnsemble, type ModelConfig } from "../config/index.ts";
import { formatProblem } from "../errors.ts";
import { ProtocolError, type ModelState, type RepositoryIndexEntry } from "../kserve/index.ts";
import type { BackendKind } from "./backend.ts";
import { LoadError, modelDirectories, PollError, servedVersions } from "./model-dir.ts";
import { pollModel, startModel, type LoadHooks, type PolledModel } from "./model-loader.ts";
import type { ServedModel } from "./served-model.ts";

interface Entry {
  name: string;
  state: ModelState;
  /** Empty while READY; "unloaded" after an unload; the status text of a failed load. */
  reason: string;
  /** In the dependency graph: asked to load (by name or as an ensemble's step) and not unloaded since. */
  inGraph: boolean;
  /** Asked for by name (at start-up or through the load API), not only as a step model. */
  explicit: boolean;
  /** In Triton's model lifecycle: a load was attempted (for an ensemble: its check passed once). */
  inLifecycle: boolean;
  /** Why the dependency graph finds this ensemble invalid now (Triton's status message), if it does. */
  invalid?: string;
  polled?: PolledModel;
  kind?: BackendKind;
  /** The versions the last load tried (index rows), ascending. */
  versionNames: string[];
  /** The versions serving now (READY). */
  versions: Map<string, ServedModel>;
}

/** What a load of one model came to, for the load API's answer. */
interface Outcome {
  ok: boolean;
  /** Why not, for the answer. */
  message?: string;
  pollFailed?: boolean;
}

/** Triton's --model-load-thread-count default (server src/command_line_parser.h, r24.08). */
export const DEFAULT_LOAD_THREADS = 4;

export interface RegistryOptions extends LoadHooks {
  /** Models loaded at once, as Triton's --model-load-thread-count. @default 4 */
  loadThreads?: number;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly repo: string,
    private readonly options: RegistryOptions = {},
  ) {}

  /**
   * Start-up: every model directory (no names, or "*"), or the named models and their ensembles'
   * step models (explicit mode). Failures become UNAVAILABLE rows and are returned with their
   * reasons; the caller decides whether they end the server (--exit-on-error).
   */
  loadInitial(names?: readonly string[]): Promise<{ name: string; reason: string }[]> {
    return this.serial(async () => {
      const all = !names || names.includes("*") ? await modelDirectories(this.repo) : [...new Set(names)];
      const outcomes = await this.loadNames(all);
      const reason = (name: string, o: Outcome) => {
        const e = this.entries.get(name);
        // as Triton logs an invalid ensemble: its status with the code
        return e?.invalid ? `Invalid argument: ${e.invalid}` : e?.reason || o.message || "failed to load";
      };
      return [...outcomes].filter(([, o]) => !o.ok).map(([name, o]) => ({ name, reason: reason(name, o) }));
    });
  }

  /**
   * POST /v2/repository/models/{m}/load. When the model, or a step model its ensemble polls, is not in
   * the repository or has a config that cannot be read, the answer is a 500 in Triton's words and
   * nothing more, whatever became of the rest (core model_repository_manager.cc LoadUnloadModel,
   * r24.08: `polled` covers the whole poll chain; the reason goes to its log only); a model that fails
   * to load a 400 naming the version and the reason.
   */
  load(name: string): Promise<void> {
    return this.serial(async () => {
      const outcomes = await this.loadNames([name]);
      if ([...outcomes.values()].some((x) => x.pollFailed)) throw new ProtocolError(`failed to load '${name}', failed to poll from model repository`, 500);
      const o = outcomes.get(name)!;
      if (o.ok) return;
      throw new ProtocolError(`load failed for model '${name}': ${o.message}`, 400);
    });
  }

  /**
   * POST /v2/repository/models/{m}/unload. A model that was never loaded is a success (Triton answers
   * 200); the ensembles over it are unloaded too, and with `dependents` the step models of an
   * ensemble that nobody asked for by name and no other loaded ensemble uses.
   */
  unload(name: string, o: { dependents?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      const e = this.entries.get(name);
      if (!e || !e.inGraph) return;
      const removed = [e];
      if (o.dependents) removed.push(...this.orphanedSteps(e));
      for (const r of removed) {
        r.inGraph = false;
        r.explicit = false;
      }
      await Promise.all(removed.map((r) => this.retire(r, "unloaded")));
      await this.refreshEnsembles();
    });
  }

  /** A READY version for a request (version undefined or -1: the latest); the caller must release() it. */
  acquire(name: string, version?: string): ServedModel {
    const m = this.resolve(name, version);
    m.acquire();
    return m;
  }

  /**
   * The model version a metadata, config or inference request names, with Triton's answers when there
   * is none (core model_lifecycle.cc GetModel, r24.08): 404 for a model never loaded, one with no
   * READY version, or a version it does not have; 503 for a version that is there but not READY.
   */
  resolve(name: string, version?: string): ServedModel {
    const e = this.entries.get(name);
    if (!e?.inLifecycle) throw new ProtocolError(`Request for unknown model: '${name}' is not found`, 404);
    if (version === undefined || version === "-1") {
      const latest = [...e.versions.values()].at(-1);
      if (e.state !== "READY" || !latest) throw new ProtocolError(`Request for unknown model: '${name}' has no available versions`, 404);
      return latest;
    }
    const m = e.state === "READY" ? e.versions.get(version) : undefined;
    if (m) return m;
    if (e.versionNames.includes(version)) throw new ProtocolError(`Request for unknown model: '${name}' version ${version} is not at ready state`, 503);
    throw new ProtocolError(`Request for unknown model: '${name}' version ${version} is not found`, 404);
  }

  /** Every version of a model that is READY now (the metadata's `versions`). */
  readyVersions(name: string): string[] {
    const e = this.entries.get(name);
    return e?.state === "READY" ? [...e.versions.keys()] : [];
  }

  /**
   * The READY versions whose statistics a stats request asks for (core tritonserver.cc
   * TRITONSERVER_ServerModelStatistics, r24.08): every READY model with no name; a model that is not
   * available, or a version of it that is not, is a 400.
   */
  statsVersions(name?: string, version?: string): ServedModel[] {
    if (name === undefined) return [...this.entries.values()].filter((e) => e.state === "READY").flatMap((e) => [...e.versions.values()]);
    const e = this.entries.get(name);
    if (!e || e.state !== "READY" || e.versions.size === 0) throw new ProtocolError(`requested model '${name}' is not available`, 400);
    if (version === undefined || version === "-1") return [...e.versions.values()];
    const m = e.versions.get(version);
    if (!m) throw new ProtocolError(`requested model version is not available for model '${name}'`, 400);
    return [m];
  }

  /**
   * POST /v2/repository/index, rows as Triton writes them (core tritonserver.cc
   * TRITONSERVER_ServerModelIndex, r24.08): every model directory; never-loaded ones by name only;
   * the others one row per version with state, and a reason unless READY. `readyOnly`: READY rows.
   */
  async index(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    const dirs = await modelDirectories(this.repo).catch(() => [] as string[]);
    const rows = dirs.flatMap((name): RepositoryIndexEntry[] => {
      const e = this.entries.get(name);
      if (!e?.inLifecycle) return [{ name }];
      const reason = e.state === "READY" || !e.reason ? {} : { reason: e.reason };
      if (e.versionNames.length === 0) return [{ name, state: e.state, ...reason }];
      return e.versionNames.map((version) => ({ name, version, state: e.state, ...reason }));
    });
    return readyOnly ? rows.filter((r) => r.state === "READY") : rows;
  }

  /**
   * GET /v2/health/ready with --strict-readiness=true (core server.cc InferenceServer::IsReady,
   * r24.08): every model in the lifecycle is READY or was unloaded (a model whose poll failed is not
   * in it).
   */
  allReady(): boolean {
    return [...this.entries.values()].every((e) => !e.inLifecycle || e.state === "READY" || e.reason === "unloaded");
  }

  /** Models asked to be loaded, by state (for the start-up line). */
  counts(): { ready: number; unavailable: number } {
    const wanted = [...this.entries.values()].filter((e) => e.inGraph);
    const ready = wanted.filter((e) => e.state === "READY").length;
    return { ready, unavailable: wanted.length - ready };
  }

  /** Every version serving now, for the metrics endpoint (Triton drops a version's series when it unloads). */
  servedModels(): ServedModel[] {
    return [...this.entries.values()].filter((e) => e.state === "READY").flatMap((e) => [...e.versions.values()]);
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

  private entry(name: string): Entry {
    let e = this.entries.get(name);
    if (!e) this.entries.set(name, (e = { name, state: "UNAVAILABLE", reason: "", inGraph: false, explicit: false, inLifecycle: false, versionNames: [], versions: new Map() }));
    return e;
  }

  /**
   * Loads `names` as one request does: polls them and, for ensembles, their step models (the chain
   * Triton's PollModels follows), then loads step models before the ensembles over them, non-ensembles
   * --model-load-thread-count at a time (each Python step is a python3 process starting numpy).
   */
  private async loadNames(names: readonly string[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    const polled = new Map<string, PolledModel>();
    const dirs = new Set(await modelDirectories(this.repo));
    const pending = [...names];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (!dirs.has(name)) {
        outcomes.set(name, { ok: false, message: `no model directory '${name}' in ${this.repo}`, pollFailed: true });
        continue;
      }
      let p: PolledModel;
      try {
        p = await pollModel(this.repo, name);
      } catch (err) {
        // Triton's poll fails: a model new to the lifecycle stays out of it (an index row of its name
        // only, no effect on readiness); one it knows keeps the state it had, a loaded one serving.
        if (!(err instanceof PollError)) throw err;
        outcomes.set(name, { ok: false, message: err.status, pollFailed: true });
        continue;
      }
      const e = this.entry(name);
      e.inGraph = true;
      if (names.includes(name)) e.explicit = true;
      polled.set(name, p);
      pending.push(...p.steps);
    }
    const plain = [...polled.values()].filter((p) => p.kind !== "ensemble");
    await forEachLimited(plain, this.options.loadThreads ?? DEFAULT_LOAD_THREADS, async (p) => {
      outcomes.set(p.name, await this.loadOne(p));
    });
    const fresh = new Map([...polled.values()].filter((p) => p.kind === "ensemble").map((p) => [p.name, p]));
    for (const [name, o] of await this.refreshEnsembles(fresh)) if (!outcomes.has(name)) outcomes.set(name, o);
    return outcomes;
  }

  /** Loads one model (or reloads it when its directory changed); a failed reload keeps the old version. */
  private async loadOne(p: PolledModel): Promise<Outcome> {
    const e = this.entry(p.name);
    if (e.state === "READY" && e.polled && e.polled.stamp === p.stamp) return { ok: true };
    const wasReady = e.state === "READY" && e.versions.size > 0;
    e.inLifecycle = true;
    delete e.invalid;
    if (!wasReady) Object.assign(e, { state: "LOADING", reason: "" });
    try {
      const loaded = await startModel(this.repo, p, (m, v) => this.resolve(m, v === -1 ? undefined : String(v)), this.options);
      const old = [...e.versions.values()];
      Object.assign(e, { state: "READY", reason: "", polled: p, kind: loaded.kind, versions: loaded.versions, versionNames: [...loaded.versions.keys()] });
      await Promise.all(old.map((m) => m.retire()));
      return { ok: true };
    } catch (err) {
      if (!(err instanceof LoadError)) throw err;
      return this.failed(e, p, err.status, wasReady);
    }
  }

  /** Records a failed load (a reload leaves the loaded version serving) and words the load API's answer. */
  private async failed(e: Entry, p: PolledModel, status: string, wasReady: boolean): Promise<Outcome> {
    const versions = await servedVersions(this.repo, p.name, p.config).catch(() => [] as string[]);
    const message = versions.length ? versions.map((v) => `version ${v} is at UNAVAILABLE state: ${status};`).join(" ") : status;
    if (wasReady) return { ok: false, message: `${message} (the loaded version keeps serving)` };
    Object.assign(e, { state: "UNAVAILABLE", reason: status, polled: p, versionNames: versions });
    return { ok: false, message };
  }

  /**
   * Brings every ensemble in the graph in line with its step models, inner ensembles first: one whose
   * steps are all READY (and whose check passes) loads; one that cannot is invalid (core
   * model_repository_manager.cc CheckNode, r24.08): unloaded ("unloaded") if it was serving, its
   * reason kept for the load API's answer. `fresh` holds the ensembles a load request just polled:
   * they are checked with the config on disk now.
   */
  private async refreshEnsembles(fresh: ReadonlyMap<string, PolledModel> = new Map()): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    const polledOf = (e: Entry) => fresh.get(e.name) ?? e.polled;
    const ensembles = [...this.entries.values()].filter((e) => e.inGraph && polledOf(e)?.kind === "ensemble");
    const depth = (e: Entry, seen: Set<string> = new Set()): number => {
      if (seen.has(e.name)) return 0; // a cycle: the ensemble check names it
      seen.add(e.name);
      const inner = polledOf(e)!.steps.map((s) => ensembles.find((x) => x.name === s)).filter((x): x is Entry => x !== undefined);
      return 1 + Math.max(0, ...inner.map((x) => depth(x, seen)));
    };
    const ordered = ensembles.map((e) => ({ e, d: depth(e) })).sort((a, b) => a.d - b.d).map((x) => x.e);
    for (const e of ordered) {
      const p = polledOf(e)!;
      const problem = this.ensembleProblem(e.name, p.config);
      if (!problem) {
        outcomes.set(e.name, await this.loadOne(p));
        continue;
      }
      if (e.state === "READY") await this.retire(e, "unloaded");
      e.invalid = problem;
      if (fresh.has(e.name)) {
        e.polled = p;
        outcomes.set(e.name, { ok: false, message: problem });
      }
    }
    return outcomes;
  }

  /** Why an ensemble cannot be READY now, in Triton's words (a status message); "" when it can. */
  private ensembleProblem(name: string, cfg: ModelConfig): string {
    const steps = cfg.ensemble_scheduling?.step ?? [];
    const configs = new Map<string, ModelConfig>();
    for (const s of steps) {
      const m = s.model_name ?? "";
      const step = this.entries.get(m);
      if (!step || !step.inGraph) return `ensemble ${name} contains models that are not available or ambiguous: ${m}`;
      if (step.invalid) return `ensemble '${name}' depends on '${m}' which is not valid. Model '${m}' failed with error: ${step.invalid}`;
      if (step.state !== "READY") return `ensemble '${name}' depends on '${m}' which has no loaded version.${step.reason && step.reason !== "unloaded" ? ` Model '${m}' loading failed with error: ${step.reason}` : ""}`;
      configs.set(m, step.polled!.config);
    }
    const problems = checkEnsemble(cfg, configs);
    return problems.length ? problems.map((p) => formatProblem(p).replace(/\n\s+/g, " ")).join("; ") : "";
  }

  /** Step models of an ensemble that only it brought in: nobody asked for them by name, no other ensemble in the graph uses them. */
  private orphanedSteps(e: Entry): Entry[] {
    const steps = e.polled?.steps ?? [];
    const usedElsewhere = (step: string) => [...this.entries.values()].some((o) => o !== e && o.inGraph && o.polled?.steps.includes(step));
    return steps.map((s) => this.entries.get(s)).filter((s): s is Entry => s !== undefined && s.inGraph && !s.explicit && !usedElsewhere(s.name));
  }

  /** Takes a model's versions out of service (waiting for runs in flight) and marks it UNAVAILABLE with `reason`. */
  private async retire(e: Entry, reason: string): Promise<void> {
    const old = [...e.versions.values()];
    Object.assign(e, { state: old.length ? "UNLOADING" : "UNAVAILABLE", versions: new Map() });
    await Promise.all(old.map((m) => m.retire()));
    Object.assign(e, { state: "UNAVAILABLE", reason });
  }
}
