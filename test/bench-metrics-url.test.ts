// bench's default metrics URL: a --url on a profile's HTTP NodePort reads that profile's metrics
// NodePort (the ports the stacks give the Service, src/plan/deployment.ts); anything else reads
// Triton's metrics port 8002 on the --url host.
import { describe, expect, it } from "vitest";
import { benchMetricsUrl } from "../src/bench/metrics-url.ts";
import { buildTritonDeployment } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";

describe("bench's default metrics URL", () => {
  it("beside gpu-local's HTTP NodePort, its metrics NodePort; elsewhere port 8002", async () => {
    const { plan, profile } = await loadPlan({ profile: "gpu-local" });
    const ports = buildTritonDeployment(plan, profile).service.ports;
    const http = ports.find((p) => p.name === "http")!.nodePort!;
    const metrics = ports.find((p) => p.name === "metrics")!.nodePort!;
    expect(await benchMetricsUrl(`http://gpu-node.lan:${http}`, "model-specs")).toEqual({ url: `http://gpu-node.lan:${metrics}/metrics`, why: `--url is profile gpu-local's HTTP NodePort ${http}: its metrics NodePort ${metrics}` });
    expect(await benchMetricsUrl("http://triton.triton.svc.cluster.local:8000", "model-specs")).toEqual({ url: "http://triton.triton.svc.cluster.local:8002/metrics", why: "Triton's metrics port 8002 on the --url host" });
    expect((await benchMetricsUrl("http://127.0.0.1:41234/", "no-such-specs")).url).toBe("http://127.0.0.1:8002/metrics");
  });
});
