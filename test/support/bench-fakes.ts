// Stand-ins for bench's tests where serve-local cannot help: a GPU. A fake "GPU" whose used memory
// rises when a model loads and while it runs, a BenchServer over it (explicit load/unload, answers
// of the right shapes), and a tiny HTTP Prometheus endpoint that reports nv_gpu_memory_used_bytes
// from the same state, as Triton's :8002/metrics does. And an in-process E2eServer for the video
// pipeline's own tests (routing, queues, files), where the server's speed is beside the point.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { elementCount } from "../../src/dtype.ts";
import { allocate } from "../../src/fixtures/tensor.ts";
import type { BenchServer, IndexRow, ModelInfo } from "../../src/bench/server.ts";
import type { Tensor } from "../../src/pipeline/tensor.ts";
import type { DType } from "../../src/dtype.ts";
import type { E2eServer } from "../../src/e2e/e2e.ts";
import { entryTensors } from "../../src/pipeline/tensor.ts";
import type { Catalog } from "../../src/spec/catalog.ts";

const MiB = 1024 * 1024;

export interface FakeModel {
  info: ModelInfo;
  /** MiB held while loaded, and extra MiB while an inference runs. */
  residentMiB: number;
  peakMiB: number;
  inferMs: number;
  loaded: boolean;
}

export class FakeGpu {
  baseMiB = 900;
  running = new Map<string, number>();
  constructor(readonly models: Map<string, FakeModel>) {}

  usedBytes(): number {
    let mib = this.baseMiB;
    for (const m of this.models.values()) if (m.loaded) mib += m.residentMiB;
    for (const [name, n] of this.running) if (n > 0) mib += this.models.get(name)!.peakMiB;
    return mib * MiB;
  }
}

export function fakeModel(name: string, inputs: [string, DType, number[]][], outputs: [string, DType, number[]][], mem: { residentMiB: number; peakMiB: number; inferMs?: number }): FakeModel {
  const t = (x: [string, DType, number[]]) => ({ name: x[0], datatype: x[1], shape: x[2] });
  return { info: { name, platform: "onnxruntime_onnx", inputs: inputs.map(t), outputs: outputs.map(t) }, residentMiB: mem.residentMiB, peakMiB: mem.peakMiB, inferMs: mem.inferMs ?? 5, loaded: true };
}

export function fakeBenchServer(gpu: FakeGpu, url = "http://fake:8000"): BenchServer & { calls: string[] } {
  const calls: string[] = [];
  const get = (name: string) => {
    const m = gpu.models.get(name);
    if (!m) throw new Error(`HTTP 404: unknown model ${name}`);
    return m;
  };
  return {
    url,
    calls,
    async serverMetadata() {
      return { name: "fake-triton", version: "0.0" };
    },
    async repositoryIndex(): Promise<IndexRow[]> {
      return [...gpu.models.entries()].map(([name, m]) => ({ name, version: "1", state: m.loaded ? "READY" : "UNAVAILABLE" }));
    },
    async modelMetadata(name: string) {
      const m = get(name);
      if (!m.loaded) throw new Error(`HTTP 400: model ${name} is not loaded`);
      return m.info;
    },
    async infer(name: string, inputs: readonly Tensor[], outputs: readonly string[]) {
      const m = get(name);
      if (!m.loaded) throw new Error(`HTTP 400: model ${name} is not loaded`);
      for (const want of m.info.inputs) {
        const got = inputs.find((i) => i.name === want.name);
        if (!got || got.shape.join() !== want.shape.join() || got.datatype !== want.datatype || got.data.length !== elementCount(want.shape)) throw new Error(`HTTP 400: bad input ${want.name}`);
      }
      gpu.running.set(name, (gpu.running.get(name) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, m.inferMs));
      gpu.running.set(name, gpu.running.get(name)! - 1);
      return outputs.map((o) => {
        const spec = m.info.outputs.find((x) => x.name === o)!;
        return { name: o, datatype: spec.datatype as DType, shape: spec.shape, data: allocate(spec.datatype as DType, elementCount(spec.shape)) };
      });
    },
    async loadModel(name: string) {
      calls.push(`load ${name}`);
      get(name).loaded = true;
    },
    async unloadModel(name: string) {
      calls.push(`unload ${name}`);
      get(name).loaded = false;
    },
  };
}

/** A Prometheus text endpoint over the fake GPU; `text` overrides what it says (e.g. no GPU metrics). */
export async function startFakePrometheus(gpu: FakeGpu | undefined, text?: () => string, uuid = "GPU-fake-0"): Promise<{ url: string; scrapes: number; close(): Promise<void> }> {
  const state = { scrapes: 0 };
  const server: Server = createServer((req, res) => {
    state.scrapes++;
    if (req.url !== "/metrics") return void res.writeHead(404).end();
    const body = text ? text() : ["# HELP nv_gpu_memory_used_bytes GPU used memory (bytes)", "# TYPE nv_gpu_memory_used_bytes gauge", `nv_gpu_memory_used_bytes{gpu_uuid="${uuid}"} ${gpu!.usedBytes()}`, `nv_gpu_memory_total_bytes{gpu_uuid="${uuid}"} ${6144 * MiB}`, ""].join("\n");
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    get scrapes() {
      return state.scrapes;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * An in-process E2eServer answering every READY catalog entry with zeros of the spec's output shapes
 * after `delayMs` (a server in another process would be working meanwhile); counts requests per model.
 */
export function fakeE2eServer(catalog: Catalog, o: { delayMs?: number; failModel?: string; url?: string } = {}): E2eServer & { requests: Map<string, number> } {
  const byEntry = new Map(catalog.branches.map((cb) => [cb.models.entry, cb]));
  const requests = new Map<string, number>();
  return {
    url: o.url ?? "http://fake-e2e:8000",
    requests,
    async readyModels() {
      return new Set(catalog.branches.filter((cb) => cb.branch.status === "ready").flatMap((cb) => [cb.models.entry, cb.models.ensemble, cb.models.preprocess, cb.models.onnx].filter((m): m is string => m !== undefined)));
    },
    async infer(model, inputs, outputs) {
      requests.set(model, (requests.get(model) ?? 0) + 1);
      const cb = byEntry.get(model);
      if (!cb) throw new Error(`HTTP 404: unknown model ${model}`);
      const { inputs: want, outputs: gives } = entryTensors(cb);
      for (const w of want) {
        const got = inputs.find((i) => i.name === w.name);
        if (!got || got.shape.join() !== w.dims.join() || got.datatype !== w.dtype) throw new Error(`HTTP 400: ${model}: bad input ${w.name}`);
      }
      if (model === o.failModel) throw new Error(`HTTP 500: ${model}: CUDA out of memory`);
      await new Promise((r) => setTimeout(r, o.delayMs ?? 1));
      return outputs.map((name) => {
        const spec = gives.find((g) => g.name === name)!;
        return { name, datatype: spec.dtype, shape: [...spec.dims], data: allocate(spec.dtype, elementCount(spec.dims)) };
      });
    },
  };
}
