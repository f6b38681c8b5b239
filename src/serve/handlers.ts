// Every endpoint but inference: health, server and model metadata, config, statistics and the
// repository extension (index, load, unload). Each handler writes its own answer; errors are thrown
// as ProtocolError and answered by the server with `{"error": …}`.
import type { IncomingMessage } from "node:http";
import { modelConfigToJson } from "../config/index.ts";
import { ProtocolError, type ModelMetadata, type ServerMetadata } from "../kserve/index.ts";
import { readBody } from "./body.ts";
import { inferHandler } from "./infer.ts";
import type { ModelRegistry } from "./registry.ts";
import { sendEmpty, sendJson } from "./reply.ts";
import type { Handler, RouteName } from "./router.ts";
import { metadataTensors } from "./signature.ts";

export const SERVER_METADATA: ServerMetadata = {
  name: "serve-local",
  version: "0.1.0",
  extensions: ["binary_tensor_data", "model_repository", "model_configuration", "statistics", "parameters"],
};

export interface AppContext {
  registry: ModelRegistry;
  maxBodyBytes: number;
}

/** A small JSON body (`{}` or fields), or {} when empty. */
async function jsonBody(req: IncomingMessage, app: AppContext): Promise<Record<string, unknown>> {
  const raw = await readBody(req, app.maxBodyBytes);
  const text = raw.toString("utf8").trim();
  if (text === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`failed to parse the request JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ProtocolError("the request body must be a JSON object");
  return v as Record<string, unknown>;
}

function modelOf(p: { model?: string }): string {
  return p.model!;
}

export function handlers(app: AppContext): Record<RouteName, Handler> {
  const { registry } = app;
  return {
    server: async (_req, res) => sendJson(res, 200, SERVER_METADATA),
    live: async (_req, res) => sendEmpty(res, 200),
    ready: async (_req, res) => sendEmpty(res, registry.allReady() ? 200 : 400),
    model: async (_req, res, p) => {
      const m = registry.resolve(modelOf(p), p.version);
      // A versioned request lists that version only (core tritonserver.cc, r24.08).
      const versions = p.version !== undefined ? [p.version] : registry.readyVersions(m.name);
      const body: ModelMetadata = { name: m.name, versions, platform: m.platform, inputs: metadataTensors(m.signature.inputs), outputs: metadataTensors(m.signature.outputs) };
      sendJson(res, 200, body);
    },
    modelReady: async (_req, res, p) => {
      let ok = true;
      try {
        registry.resolve(modelOf(p), p.version);
      } catch {
        ok = false;
      }
      // Not ready is a 400 with an error body (server src/http_server.cc HandleModelReady, r24.08).
      if (ok) sendEmpty(res, 200);
      else sendJson(res, 400, { error: "Model version not ready" });
    },
    modelConfig: async (_req, res, p) => sendJson(res, 200, modelConfigToJson(registry.resolve(modelOf(p), p.version).config)),
    modelStats: async (_req, res, p) => sendJson(res, 200, { model_stats: registry.statsVersions(modelOf(p), p.version).map((v) => v.stats.toJson(v.name, v.version)) }),
    allStats: async (_req, res) => sendJson(res, 200, { model_stats: registry.statsVersions().map((v) => v.stats.toJson(v.name, v.version)) }),
    infer: (req, res, p) => inferHandler(app, req, res, p),
    index: async (req, res) => {
      const body = await jsonBody(req, app);
      if (body.ready !== undefined && typeof body.ready !== "boolean") throw new ProtocolError(`"ready" must be true or false, got ${JSON.stringify(body.ready)}`);
      sendJson(res, 200, await registry.index(body.ready === true));
    },
    load: async (req, res, p) => {
      const body = await jsonBody(req, app);
      const params = body.parameters;
      if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params))) throw new ProtocolError("parameters must be an object");
      const unsupported = Object.keys((params ?? {}) as object).filter((k) => k === "config" || k.startsWith("file:"));
      if (unsupported.length) throw new ProtocolError(`load parameters ${unsupported.join(", ")} are not supported by serve-local: edit config.pbtxt in the repository and load again`);
      await registry.load(modelOf(p));
      sendJson(res, 200, {});
    },
    unload: async (req, res, p) => {
      const body = await jsonBody(req, app);
      const dependents = (body.parameters as Record<string, unknown> | undefined)?.unload_dependents;
      if (dependents !== undefined && typeof dependents !== "boolean") throw new ProtocolError(`Unable to parse 'unload_dependents': expected true or false, got ${JSON.stringify(dependents)}`);
      await registry.unload(modelOf(p), { dependents: dependents === true });
      sendJson(res, 200, {});
    },
  };
}
