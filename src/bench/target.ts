// bench and e2e over HTTP: the BenchServer and E2eServer interfaces adapted to the project's KServe-v2
// client (src/client), and the metrics scrape for the GPU memory step. The one place that knows the client.
import { KServeClient, type PromSample } from "../client/index.ts";
import type { E2eServer } from "../e2e/e2e.ts";
import type { BenchServer } from "./server.ts";

/** Headers on every request (--header, e.g. a restricted model-repository API's key). */
type Headers = Readonly<Record<string, string>>;

export function httpBenchServer(url: string, headers: Headers = {}): BenchServer & { client: KServeClient } {
  const c = new KServeClient(url, { headers: { ...headers } });
  return {
    client: c,
    url: c.url,
    async serverMetadata() {
      const m = await c.serverMetadata();
      return { name: m.name, version: m.version };
    },
    repositoryIndex: () => c.repositoryIndex(),
    modelMetadata: (m) => c.modelMetadata(m),
    infer: (m, inputs, outputs) => c.infer(m, inputs, outputs),
    loadModel: (m) => c.load(m),
    unloadModel: (m) => c.unload(m),
  };
}

export function httpE2eServer(url: string, headers: Headers = {}): E2eServer & { client: KServeClient } {
  const c = new KServeClient(url, { headers: { ...headers } });
  return {
    client: c,
    url: c.url,
    readyModels: async () => new Set((await c.repositoryIndex()).filter((r) => r.state === "READY").map((r) => r.name)),
    infer: (m, inputs, outputs) => c.infer(m, inputs, outputs),
  };
}

/** Prometheus samples of a metrics endpoint (Triton's :8002/metrics), through the client. */
export function metricsScraper(server: { client: KServeClient }, metricsUrl: string): () => Promise<PromSample[]> {
  return () => server.client.metrics(metricsUrl, { timeoutMs: 5000 });
}
