// bench and e2e over HTTP: the BenchServer and E2eServer interfaces adapted to the project's KServe-v2
// client. The one place that knows which client that is.
import type { E2eServer } from "../e2e/e2e.ts";
import { HttpKServeServer } from "../verify/http.ts";
import type { BenchServer } from "./server.ts";

export function httpBenchServer(url: string): BenchServer {
  const c = new HttpKServeServer(url);
  return {
    url: c.url,
    async serverMetadata() {
      const live = await c.live();
      return { name: "KServe-v2", version: live ? "live" : "not live" };
    },
    repositoryIndex: () => c.repositoryIndex(),
    modelMetadata: (m) => c.modelMetadata(m),
    infer: (m, inputs, outputs) => c.infer(m, inputs, outputs),
    loadModel: () => Promise.reject(new Error("explicit load needs the repository API of src/client, which has not landed yet")),
    unloadModel: () => Promise.reject(new Error("explicit unload needs the repository API of src/client, which has not landed yet")),
  };
}

export function httpE2eServer(url: string): E2eServer {
  const c = new HttpKServeServer(url);
  return {
    url: c.url,
    readyModels: async () => new Set((await c.repositoryIndex()).filter((r) => r.state === "READY").map((r) => r.name)),
    infer: (m, inputs, outputs) => c.infer(m, inputs, outputs),
  };
}

/** Prometheus text from a metrics endpoint. */
export function metricsScraper(metricsUrl: string): () => Promise<string> {
  return () => Promise.reject(new Error(`reading ${metricsUrl} needs the metrics helper of src/client, which has not landed yet`));
}
