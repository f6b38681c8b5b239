// bench's default metrics URL: a --url on a profile's HTTP NodePort reads that profile's metrics
// NodePort (the ports the stacks give the Service, src/plan/deployment.ts); anything else reads
// Triton's metrics port 8002 on the --url host.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { benchMetricsUrl } from "../src/bench/metrics-url.ts";
import { buildTritonDeployment } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";

const tmp = await mkdtemp(join(tmpdir(), "metrics-url-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** The shipped specs with gpu-local opened on purpose as a NodePort (its default is ClusterIP). */
async function nodePortSpecs(): Promise<string> {
  const specs = join(tmp, "specs");
  await cp("model-specs", specs, { recursive: true });
  const file = join(specs, "profiles", "gpu-local.yaml");
  const text = await readFile(file, "utf8");
  expect(text).toMatch(/^ {2}service: ClusterIP/m);
  await writeFile(file, text.replace(/^( {2}service: )ClusterIP/m, "$1NodePort"));
  return specs;
}

describe("bench's default metrics URL", () => {
  it("beside a NodePort profile's HTTP NodePort, its metrics NodePort; elsewhere port 8002", async () => {
    const specs = await nodePortSpecs();
    const { plan, profile } = await loadPlan({ specsDir: specs, profile: "gpu-local" });
    const ports = buildTritonDeployment(plan, profile).service.ports;
    const http = ports.find((p) => p.name === "http")!.nodePort!;
    const metrics = ports.find((p) => p.name === "metrics")!.nodePort!;
    expect(await benchMetricsUrl(`http://gpu-node.lan:${http}`, specs)).toEqual({ url: `http://gpu-node.lan:${metrics}/metrics`, why: `--url is profile gpu-local's HTTP NodePort ${http}: its metrics NodePort ${metrics}` });
    expect(await benchMetricsUrl("http://triton.triton.svc.cluster.local:8000", specs)).toEqual({ url: "http://triton.triton.svc.cluster.local:8002/metrics", why: "Triton's metrics port 8002 on the --url host" });
    expect((await benchMetricsUrl("http://127.0.0.1:41234/", "no-such-specs")).url).toBe("http://127.0.0.1:8002/metrics");
  });

  it("the shipped gpu-local is ClusterIP (reached by port-forward), so its old NodePort means nothing special", async () => {
    expect((await benchMetricsUrl("http://localhost:30800", "model-specs")).url).toBe("http://localhost:8002/metrics");
  });
});
