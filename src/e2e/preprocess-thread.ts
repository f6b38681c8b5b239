// Preprocessing on its own thread, for pipelined passes. On two cores the main thread cannot both
// resize/letterbox a clip and encode, send and decode HTTP requests without one waiting for the other;
// seed 002 puts decoding and preprocessing in DataLoader workers for the same reason. The worker
// (preprocess-worker.ts) runs the component flows; each request it makes comes here as a message,
// the main thread sends it to the server and posts the answer back. Frames go over as copies of their
// own bytes; requests' tensors are transferred here (a flow hands its inputs over with the call) and
// transferred back with the answer, with the answer's tensors, so the thread reuses their memory.
//
// The worker is TypeScript: it registers tsx's loader (a devDependency every script here runs under)
// before importing the entry, so it runs the same under tsx and vitest.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { tensorBuffers } from "../pipeline/buffers.ts";
import type { Infer, Tensor } from "../pipeline/tensor.ts";
import type { Clip } from "./clips.ts";
import type { RoutedFlows } from "./flows.ts";
import { BoundedQueue, drain } from "./queue.ts";

export type ToWorker =
  | { type: "flows"; flows: RoutedFlows }
  | { type: "clip"; clip: number; frames: { width: number; height: number; data: Uint8Array }[] }
  | { type: "answer"; id: number; outputs?: Tensor[]; error?: string; recycled?: ArrayBuffer[] };

export type ToMain =
  | { type: "ready" }
  | { type: "call"; clip: number; id: number; model: string; inputs: Tensor[]; outputs: string[] }
  | { type: "started"; clip: number; preprocessMs: number; flowCount: number }
  | { type: "done"; clip: number; preprocessMs: number; error?: string };

export interface RemoteCall {
  id: number;
  model: string;
  inputs: Tensor[];
  outputs: string[];
}

/** A clip handed to the preprocess thread. */
export interface RemoteClipJob {
  clip: Clip;
  /** Requests of this clip's flows as they come; closed when the clip is done. */
  calls: BoundedQueue<RemoteCall>;
  /** Resolves when every flow has been started (preprocessing is over), with its time. */
  started: Promise<number>;
  /** Resolves when every flow has finished; `error` is the first flow's failure. */
  done: Promise<{ preprocessMs: number; error?: string }>;
}

interface Tracked {
  job: RemoteClipJob;
  started: (ms: number) => void;
  done: (r: { preprocessMs: number; error?: string }) => void;
  fail: (e: unknown) => void;
}

/** The worker's entry as an evaluated bootstrap: register tsx's ESM loader, then import the TypeScript. */
function bootstrap(): string {
  const req = createRequire(import.meta.url);
  const pkgFile = req.resolve("tsx/package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports: Record<string, { import: { default: string } }> };
  const api = new URL(pkg.exports["./esm/api"]!.import.default, pathToFileURL(pkgFile)).href;
  const entry = new URL("./preprocess-worker.ts", import.meta.url).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require("node:worker_threads").parentPort.postMessage({ type: "fatal", message: String((e && e.stack) || e) }); });`;
}

export class PreprocessThread {
  private readonly jobs = new Map<number, Tracked>();
  private failure: Error | undefined;
  private nextClip = 0;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: ToMain | { type: "fatal"; message: string }) => this.onMessage(m));
    worker.on("error", (e) => this.failAll(e));
    worker.on("exit", (code) => this.failAll(new Error(`the preprocess thread exited (code ${code})`)));
  }

  /** Starts the thread and hands it the routed flows; resolves when it is ready (tsx's loader takes a few hundred ms). */
  static async start(flows: RoutedFlows): Promise<PreprocessThread> {
    // execArgv: [] keeps the parent's loader flags out; the bootstrap registers tsx itself.
    const worker = new Worker(bootstrap(), { eval: true, execArgv: [] });
    const t = new PreprocessThread(worker);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === "ready") resolve();
        else if (m.type === "fatal") reject(new Error(`the preprocess thread failed to start: ${m.message}`));
        else return;
        worker.off("message", onMessage);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.postMessage({ type: "flows", flows } satisfies ToWorker);
    });
    return t;
  }

  /** Sends a clip's frames to the thread, which starts its flows. */
  submit(clip: Clip): RemoteClipJob {
    if (this.failure) throw this.failure;
    const id = this.nextClip++;
    let started!: (ms: number) => void;
    let done!: (r: { preprocessMs: number; error?: string }) => void;
    let fail!: (e: unknown) => void;
    const startedP = new Promise<number>((res, rej) => ((started = res), (fail = rej)));
    const doneP = new Promise<{ preprocessMs: number; error?: string }>((res, rej) => {
      done = res;
      const prev = fail;
      fail = (e) => (prev(e), rej(e));
    });
    startedP.catch(() => undefined);
    doneP.catch(() => undefined);
    const job: RemoteClipJob = { clip, calls: new BoundedQueue<RemoteCall>(Number.MAX_SAFE_INTEGER, `calls of clip ${clip.index}`), started: startedP, done: doneP };
    this.jobs.set(id, { job, started, done, fail });
    // Each frame's own bytes, transferred: a frame shared by overlapping clips is copied per clip.
    const frames = clip.frames.map((f) => ({ width: f.width, height: f.height, data: f.data.slice() }));
    this.worker.postMessage({ type: "clip", clip: id, frames } satisfies ToWorker, frames.map((f) => f.data.buffer));
    return job;
  }

  /** The infer stage for a clip it preprocessed: its requests sent with `infer`, `inFlight` at a time, answers posted back; the count. */
  async answerAll(job: RemoteClipJob, infer: Infer, inFlight = 1): Promise<number> {
    return drain(job.calls, inFlight, async (c) => {
      try {
        const outputs = await infer(c.model, c.inputs, c.outputs);
        // the request is sent and answered: its buffers go back for the next requests' tensors
        this.answer(c.id, outputs, undefined, tensorBuffers(c.inputs));
      } catch (e) {
        this.answer(c.id, undefined, e instanceof Error ? e.message : String(e));
      }
    });
  }

  /** Posts an answer; the outputs' buffers (and `recycled` ones) move to the thread: this one has no further use for them. */
  answer(id: number, outputs: Tensor[] | undefined, error?: string, recycled: ArrayBuffer[] = []): void {
    const out = tensorBuffers(outputs ?? []);
    const back = recycled.filter((b) => !out.includes(b));
    this.worker.postMessage({ type: "answer", id, ...(outputs ? { outputs } : {}), ...(error !== undefined ? { error } : {}), ...(back.length ? { recycled: back } : {}) } satisfies ToWorker, [...out, ...back]);
  }

  private onMessage(m: ToMain | { type: "fatal"; message: string }): void {
    if (m.type === "ready") return;
    if (m.type === "fatal") return this.failAll(new Error(m.message));
    const t = this.jobs.get(m.clip);
    if (!t) return;
    if (m.type === "call") void t.job.calls.put({ id: m.id, model: m.model, inputs: m.inputs, outputs: m.outputs });
    else if (m.type === "started") t.started(m.preprocessMs);
    else {
      // every call of the clip came before its "done" (messages keep their order)
      t.job.calls.close();
      t.started(m.preprocessMs);
      t.done(m.error !== undefined ? { preprocessMs: m.preprocessMs, error: m.error } : { preprocessMs: m.preprocessMs });
      this.jobs.delete(m.clip);
    }
  }

  private failAll(e: Error): void {
    this.failure ??= e;
    for (const t of this.jobs.values()) {
      t.job.calls.fail(e);
      t.fail(e);
    }
    this.jobs.clear();
  }

  async close(): Promise<void> {
    this.failure ??= new Error("the preprocess thread was closed");
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}
