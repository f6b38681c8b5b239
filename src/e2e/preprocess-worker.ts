// The preprocess thread's side (see preprocess-thread.ts): it runs the component flows of each clip it
// is sent (resize, letterbox, token ids before a request; decode + NMS, top-k, EOT after an answer)
// and asks the main thread to send each request, so the main thread only talks HTTP.
import { parentPort } from "node:worker_threads";
import { BufferPool, tensorBuffers } from "../pipeline/buffers.ts";
import type { Infer, Tensor } from "../pipeline/tensor.ts";
import { startFlows, type RoutedFlows } from "./flows.ts";
import type { ToMain, ToWorker } from "./preprocess-thread.ts";

if (!parentPort) throw new Error("preprocess-worker.ts runs as a worker thread");
const port = parentPort;

let flows: RoutedFlows = {};
let nextCall = 0;
/** Request buffers the main thread sent back, for the next requests' tensors. */
const pool = new BufferPool();
const pending = new Map<number, { resolve: (t: Tensor[]) => void; reject: (e: unknown) => void }>();
const post = (m: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function inferFor(clip: number): Infer {
  const infer: Infer = (model, inputs, outputs) =>
    new Promise<Tensor[]>((resolve, reject) => {
      const id = nextCall++;
      pending.set(id, { resolve, reject });
      // Flows hand their inputs over with the call (see Infer), so the buffers move to the main
      // thread without a copy; it sends them back with the answer, into `pool`.
      post({ type: "call", clip, id, model, inputs: [...inputs], outputs: [...outputs] }, tensorBuffers(inputs));
    });
  infer.buffers = pool;
  return infer;
}

async function runClip(clip: number, frames: { width: number; height: number; data: Uint8Array }[]): Promise<void> {
  const t0 = performance.now();
  let preprocessMs = 0;
  try {
    const started = await startFlows(frames, flows, inferFor(clip));
    preprocessMs = performance.now() - t0;
    post({ type: "started", clip, preprocessMs, flowCount: started.flowCount });
    await started.results;
    post({ type: "done", clip, preprocessMs });
  } catch (e) {
    post({ type: "done", clip, preprocessMs, error: e instanceof Error ? e.message : String(e) });
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "flows":
      flows = m.flows;
      post({ type: "ready" });
      break;
    case "clip":
      void runClip(m.clip, m.frames);
      break;
    case "answer": {
      for (const b of m.recycled ?? []) pool.give(b);
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.outputs ?? []);
      break;
    }
  }
});
