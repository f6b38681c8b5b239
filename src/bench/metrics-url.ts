// Where bench reads Prometheus metrics when --metrics-url is not given. A profile whose Service is a
// NodePort publishes Triton's HTTP port 8000 and metrics port 8002 on NodePorts of their own, so a
// --url on a profile's HTTP NodePort means its metrics are on that profile's metrics NodePort (same
// host); any other --url gets Triton's own metrics port, 8002, on its host. The NodePorts come from
// the deployment the stacks build (src/plan/deployment.ts), so the two cannot drift.
import { defaultMetricsUrl } from "../client/index.ts";
import { buildTritonDeployment } from "../plan/deployment.ts";
import { loadPlan } from "../plan/load.ts";
import { listProfiles } from "../spec/profile.ts";

export interface MetricsUrlChoice {
  url: string;
  /** How it was chosen, for the log line. */
  why: string;
}

/** The metrics NodePort of the first NodePort profile whose HTTP NodePort is `port`, with the profile's name. */
async function profileMetricsPort(specsDir: string, port: number): Promise<{ profile: string; metrics: number } | undefined> {
  for (const name of await listProfiles(specsDir)) {
    try {
      const { plan, profile } = await loadPlan({ specsDir, profile: name });
      const service = buildTritonDeployment(plan, profile).service;
      if (service.type !== "NodePort") continue;
      const http = service.ports.find((p) => p.name === "http")?.nodePort;
      const metrics = service.ports.find((p) => p.name === "metrics")?.nodePort;
      if (http === port && metrics !== undefined) return { profile: name, metrics };
    } catch {
      // a profile that does not plan (or a spec error) says nothing about ports
    }
  }
  return undefined;
}

export async function benchMetricsUrl(url: string, specsDir: string): Promise<MetricsUrlChoice> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  const match = await profileMetricsPort(specsDir, port);
  if (!match) return { url: defaultMetricsUrl(url), why: "Triton's metrics port 8002 on the --url host" };
  u.port = String(match.metrics);
  u.pathname = "/metrics";
  u.search = "";
  return { url: u.toString(), why: `--url is profile ${match.profile}'s HTTP NodePort ${port}: its metrics NodePort ${match.metrics}` };
}
