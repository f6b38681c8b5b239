// bench's default metrics URL: a --url on a profile's HTTP NodePort reads that profile's metrics
// NodePort (the ports the stacks give the Service, src/plan/deployment.ts); anything else reads
// Triton's metrics port 8002 on the --url host.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { benchMetricsUrl } from "../src/bench/metrics-url.ts";
import { buildTritonDeployment } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";

describe("bench's default metrics URL", () => {
  it("beside gpu-local's HTTP NodePort, its metrics NodePort; elsewhere port 8002", async () => {
    // the shipped profiles are ClusterIP now: a copy of the specs whose gpu-local publishes NodePorts
    const specs = await mkdtemp(join(tmpdir(), "td-metrics-url-"));
    await cp("model-specs", specs, { recursive: true });
    const file = join(specs, "profiles", "gpu-local.yaml");
    const text = await readFile(file, "utf8");
    expect(text).toMatch(/^ {2}service: ClusterIP/m);
    await writeFile(file, text.replace(/^ {2}service: ClusterIP/m, "  service: NodePort"));
    const { plan, profile } = await loadPlan({ specsDir: specs, profile: "gpu-local" });
    const ports = buildTritonDeployment(plan, profile).service.ports;
    const http = ports.find((p) => p.name === "http")!.nodePort!;
    const metrics = ports.find((p) => p.name === "metrics")!.nodePort!;
    expect(await benchMetricsUrl(`http://gpu-node.lan:${http}`, specs)).toEqual({ url: `http://gpu-node.lan:${metrics}/metrics`, why: `--url is profile gpu-local's HTTP NodePort ${http}: its metrics NodePort ${metrics}` });
    // a ClusterIP profile publishes no NodePort: the same --url is nothing special there
    expect((await benchMetricsUrl(`http://gpu-node.lan:${http}`, "model-specs")).url).toBe("http://gpu-node.lan:8002/metrics");
    await rm(specs, { recursive: true, force: true });
    expect(await benchMetricsUrl("http://triton.triton.svc.cluster.local:8000", "model-specs")).toEqual({ url: "http://triton.triton.svc.cluster.local:8002/metrics", why: "Triton's metrics port 8002 on the --url host" });
    expect((await benchMetricsUrl("http://127.0.0.1:41234/", "no-such-specs")).url).toBe("http://127.0.0.1:8002/metrics");
  });
});
