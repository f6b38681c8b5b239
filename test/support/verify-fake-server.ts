// A small KServe-v2 server for the gate's own tests: it serves the entry models of some catalog
// branches by running their ONNX exports in onnxruntime-node (after the normalize step, in
// TypeScript, for ensembles), speaks the binary tensor extension, and can be told to lie (stale
// metadata, a missing model, a slow or dead server). The real end-to-end runs use serve-local.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { dtypeInfo } from "../../src/dtype.ts";
import type { Tensor } from "../../src/pipeline/tensor.ts";
import type { CatalogBranch } from "../../src/spec/catalog.ts";
import { decodeInferResponse, encodeInferRequest, HEADER_LENGTH } from "../../src/verify/http.ts";
import { normalizeReference } from "../../src/verify/expected.ts";
import { specModels, type ModelMetadata } from "../../src/verify/metadata.ts";
import type { IndexEntry } from "../../src/verify/repository.ts";
import { contractPairs } from "../../src/spec/rules.ts";

export interface FakeServerOptions {
  branches: readonly CatalogBranch[];
  onnxRoot: string;
  /** Rewrites a model's metadata before it is served (a stale deployment). */
  metadata?: (m: ModelMetadata) => ModelMetadata;
  /** Extra index rows (e.g. a model the plan excludes, loaded anyway). */
  extraIndex?: IndexEntry[];
  /** Models to leave out of the index and refuse. */
  missing?: readonly string[];
  /** Delay before answering each inference. */
  inferDelayMs?: number;
  /** Changes an answer before it is sent (wrong numbers). */
  corrupt?: (model: string, outputs: Tensor[]) => void;
}

export interface FakeServer {
  url: string;
  requests: { method: string; path: string; binary: boolean }[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
}

export async function startFakeServer(o: FakeServerOptions): Promise<FakeServer> {
  const missing = new Set(o.missing ?? []);
  const models = o.branches.flatMap((cb) => specModels(cb).map((m) => ({ ...m, cb }))).filter((m) => !missing.has(m.model));
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const session = (cb: CatalogBranch) => {
    const file = resolve(o.onnxRoot, cb.branch.onnx.file);
    if (!sessions.has(file)) sessions.set(file, ort.InferenceSession.create(file));
    return sessions.get(file)!;
  };
  const requests: FakeServer["requests"] = [];

  async function infer(cb: CatalogBranch, inputs: Tensor[], outputs: string[]): Promise<Tensor[]> {
    const b = cb.branch;
    const feeds: Record<string, ort.Tensor> = {};
    const outName = new Map<string, string>();
    if (b.serving === "ensemble" && b.contract) {
      for (const p of contractPairs(b.contract.inputs, b.onnx.inputs)) {
        const t = inputs.find((i) => i.name === p.contract.name);
        if (!t) throw new Error(`missing input ${p.contract.name}`);
        const data = b.preprocess.kind === "normalize" ? normalizeReference(t.data as Uint8Array, p.contract.dims, b.preprocess) : t.data;
        feeds[p.onnx!.name] = new ort.Tensor(dtypeInfo(p.onnx!.dtype).ort as "float32", data as Float32Array, p.onnx!.dims);
      }
      for (const p of contractPairs(b.contract.outputs, b.onnx.outputs)) outName.set(p.contract.name, p.onnx!.name);
    } else {
      for (const s of b.onnx.inputs) {
        const t = inputs.find((i) => i.name === s.name);
        if (!t) throw new Error(`missing input ${s.name}`);
        feeds[s.name] = new ort.Tensor(dtypeInfo(s.dtype).ort as "float32", t.data as Float32Array, s.dims);
      }
      for (const s of b.onnx.outputs) outName.set(s.name, s.name);
    }
    const result = await (await session(cb)).run(feeds);
    return outputs.map((name) => {
      const r = result[outName.get(name) ?? ""];
      if (!r) throw new Error(`unknown output ${name}`);
      return { name, datatype: "FP32", shape: [...r.dims], data: r.data as Float32Array };
    });
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "").split("?")[0]!;
      const bytes = await body(req);
      requests.push({ method: req.method ?? "", path, binary: req.headers[HEADER_LENGTH.toLowerCase()] !== undefined });
      if (path === "/v2/health/live" || path === "/v2/health/ready") return void res.writeHead(200).end();
      if (path === "/v2/repository/index") {
        return json(res, 200, [...models.map((m) => ({ name: m.model, version: "1", state: "READY", reason: "" })), ...(o.extraIndex ?? [])]);
      }
      const m = /^\/v2\/models\/([^/]+)(\/infer)?$/.exec(path);
      const model = m && models.find((x) => x.model === decodeURIComponent(m[1]!));
      if (!m || !model) return json(res, 404, { error: `unknown model or path ${path}` });
      if (!m[2]) {
        const meta: ModelMetadata = {
          name: model.model,
          versions: ["1"],
          platform: model.role === "ensemble" ? "ensemble" : "onnxruntime_onnx",
          inputs: model.inputs.map((t) => ({ name: t.name, datatype: t.dtype, shape: [...t.dims] })),
          outputs: model.outputs.map((t) => ({ name: t.name, datatype: t.dtype, shape: [...t.dims] })),
        };
        return json(res, 200, o.metadata ? o.metadata(meta) : meta);
      }
      if (model.cb.models.entry !== model.model) return json(res, 400, { error: "the fake serves entry models only" });
      const headerLength = Number(req.headers[HEADER_LENGTH.toLowerCase()]);
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength))) as { inputs: { name: string; shape: number[]; datatype: string; parameters: { binary_data_size: number } }[]; outputs: { name: string }[] };
      let at = headerLength;
      const inputs: Tensor[] = header.inputs.map((i) => {
        const info = dtypeInfo(i.datatype as never);
        const copy = bytes.slice(at, at + i.parameters.binary_data_size);
        at += i.parameters.binary_data_size;
        return { name: i.name, datatype: info.kserve, shape: i.shape, data: new info.array!(copy.buffer, 0, copy.byteLength / info.byteSize) as Tensor["data"] };
      });
      if (o.inferDelayMs) await new Promise((r) => setTimeout(r, o.inferDelayMs));
      try {
        const out = await infer(model.cb, inputs, header.outputs.map((x) => x.name));
        o.corrupt?.(model.model, out);
        // Reuse the client's encoder for the response body (outputs travel the same way as inputs).
        const { body: enc } = encodeInferRequest(out, []);
        const blobs = enc.subarray(enc.byteLength - out.reduce((n, t) => n + t.data.byteLength, 0));
        const head = Buffer.from(JSON.stringify({ model_name: model.model, model_version: "1", outputs: out.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } })) }));
        res.writeHead(200, { "Content-Type": "application/octet-stream", [HEADER_LENGTH]: String(head.byteLength) });
        res.end(Buffer.concat([head, Buffer.from(blobs)]));
      } catch (e) {
        json(res, 400, { error: (e as Error).message });
      }
    })().catch((e) => json(res, 500, { error: String(e) }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      for (const s of sessions.values()) await (await s).release();
    },
  };
}

export { decodeInferResponse };
