// The preprocess thread's side (see preprocess-thread.ts): it runs the component flows of each clip it
// is sent (resize, letterbox, token ids before a request; decode + NMS, top-k, EOT after an answer)
// and asks the main thread to send each request, so the main thread only talks HTTP.
import { parentPort } from "node:worker_threads";
import type { Infer, Tensor } from "../pipeline/tensor.ts";
import { startFlows, type RoutedFlows } from "./flows.ts";
import type { ToMain, ToWorker } from "./preprocess-thread.ts";

if (!parentPort) throw new Error("preprocess-worker.ts runs as a worker thread");
const port = parentPort;

let flows: RoutedFlows = {};
let nextCall = 0;
const pending = new Map<number, { resolve: (t: Tensor[]) => void; reject: (e: unknown) => void }>();
const post = (m: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function inferFor(clip: number): Infer {
  return (model, inputs, outputs) =>
    new Promise<Tensor[]>((resolve, reject) => {
      const id = nextCall++;
      pending.set(id, { resolve, reject });
      // A flow may read its inputs after the answer (CLIP reads its token ids), so they are not
      // given away: each is copied once and the copy transferred (a structured clone copies twice).
      const copies = inputs.map((t) => ({ ...t, data: t.data.slice() }));
      post({ type: "call", clip, id, model, inputs: copies, outputs: [...outputs] }, copies.map((t) => t.data.buffer as ArrayBuffer));
    });
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
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.outputs ?? []);
      break;
    }
  }
});
