// The KServe v2 paths serve-local answers, each with its method and the API category Triton's
// --http-restricted-api uses, checked in Triton's order (server src/http_server.cc, r24.08): the path
// first (anything unknown is 404, and a version segment must be digits, so /versions/-1 is 404), then
// the restriction (403, in the server), then the method (405, with Allow).
import type { IncomingMessage, ServerResponse } from "node:http";
import { ProtocolError } from "../kserve/index.ts";

export type ApiCategory = "health" | "metadata" | "inference" | "model-config" | "model-repository" | "statistics";

export type RouteName = "server" | "live" | "ready" | "allStats" | "model" | "modelReady" | "modelConfig" | "modelStats" | "infer" | "index" | "load" | "unload";

export interface RouteParams {
  model?: string;
  version?: string;
}

export interface Matched {
  name: RouteName;
  category: ApiCategory;
  params: RouteParams;
}

const ROUTES: Record<RouteName, { method: "GET" | "POST"; category: ApiCategory }> = {
  server: { method: "GET", category: "metadata" },
  live: { method: "GET", category: "health" },
  ready: { method: "GET", category: "health" },
  allStats: { method: "GET", category: "statistics" },
  model: { method: "GET", category: "metadata" },
  modelReady: { method: "GET", category: "health" },
  modelConfig: { method: "GET", category: "model-config" },
  modelStats: { method: "GET", category: "statistics" },
  infer: { method: "POST", category: "inference" },
  index: { method: "POST", category: "model-repository" },
  load: { method: "POST", category: "model-repository" },
  unload: { method: "POST", category: "model-repository" },
};

const MODEL_SUFFIX: Record<string, RouteName> = { ready: "modelReady", config: "modelConfig", stats: "modelStats", infer: "infer" };

function segments(url: string): string[] {
  const path = url.split("?", 1)[0]!;
  try {
    return path.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  } catch {
    throw new ProtocolError(`malformed URL path ${JSON.stringify(path)}`);
  }
}

/** Which route a path names, or undefined. */
function matchPath(s: string[]): { name: RouteName; params: RouteParams } | undefined {
  if (s[0] !== "v2") return undefined;
  const [, a, b, c, d] = s;
  const n = s.length;
  if (n === 1) return { name: "server", params: {} };
  if (a === "health" && n === 3 && (b === "live" || b === "ready")) return { name: b, params: {} };
  if (a === "repository") {
    if (n === 3 && b === "index") return { name: "index", params: {} };
    if (n === 5 && b === "models" && (d === "load" || d === "unload")) return { name: d, params: { model: c! } };
    return undefined;
  }
  if (a !== "models" || n < 3) return undefined;
  if (n === 3 && b === "stats") return { name: "allStats", params: {} };
  let rest = s.slice(3);
  const params: RouteParams = { model: b! };
  if (c === "versions") {
    if (n < 5 || !/^[0-9]+$/.test(d!)) return undefined;
    params.version = d!;
    rest = s.slice(5);
  }
  if (rest.length === 0) return { name: "model", params };
  const suffix = rest.length === 1 ? MODEL_SUFFIX[rest[0]!] : undefined;
  return suffix ? { name: suffix, params } : undefined;
}

/** The route a request's path names; ProtocolError 404 for a path serve-local does not answer. */
export function route(req: IncomingMessage): Matched {
  const m = matchPath(segments(req.url ?? "/"));
  if (!m) throw new ProtocolError(`no such endpoint: ${req.method} ${(req.url ?? "").split("?", 1)[0]}`, 404);
  return { name: m.name, category: ROUTES[m.name].category, params: m.params };
}

/** ProtocolError 405 (with Allow) when the request's method is not the route's; run after the restriction check. */
export function checkMethod(req: IncomingMessage, m: Matched): void {
  const want = ROUTES[m.name].method;
  if (req.method !== want) throw Object.assign(new ProtocolError(`${req.method} is not allowed on ${(req.url ?? "").split("?", 1)[0]} (use ${want})`, 405), { allow: want });
}

export type Handler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void>;
