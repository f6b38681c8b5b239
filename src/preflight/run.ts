// npm run preflight as a library call: gather the documents (kubectl) and facts (this machine's
// disk), optionally wait for a GPU node, run the pure checks, and return one report. The effects come
// in through `deps`, so tests drive it with hand-written kubectl documents and a fake clock.
import { lstat, access, constants } from "node:fs/promises";
import { posix } from "node:path";
import { TRITON_UID, type TritonDeployment } from "../plan/deployment.ts";
import { GPU_RESOURCE } from "../plan/gpu-requirements.ts";
import type { LoadedPlan } from "../plan/load.ts";
import { formatDuration, type RolloutBudget } from "../plan/rollout.ts";
import type { Manifest } from "../repo/manifest.ts";
import { checkCluster, checkEngineCache, checkGpuNodes, checkImageDisk, checkManifest, checkRepositoryFolder, checkRuntimeClass, checkSecret, gpuSettled, viewNode, type CheckResult, type FolderFacts } from "./checks.ts";
import { NodeListSchema, RuntimeClassSchema, SecretSchema, StatsSummarySchema, type Node, type StatsSummary } from "./documents.ts";
import type { Kubectl } from "./kubectl.ts";
import { expectedRepository } from "./manifest.ts";

export interface PreflightInput {
  planned: LoadedPlan;
  /** What the stack would deploy (built with the same options). */
  deployment: TritonDeployment;
  /** Check the repository folder, its manifest and the engine cache on this machine. */
  repository: { dir: string } | { skip: string };
  /** Current spec files and their sha256 (for the manifest check). */
  specs?: Record<string, string>;
  /** Seconds to wait for a GPU node the pod can use before checking. @default 0 */
  waitSeconds?: number;
}

export interface PreflightDeps {
  kubectl: Kubectl;
  folder(path: string): Promise<FolderFacts>;
  readManifest(dir: string): Promise<Manifest | undefined>;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Progress lines (stderr). */
  log(line: string): void;
  /** @default 5000 */
  pollMs?: number;
}

export interface PreflightReport {
  profile: string;
  ok: boolean;
  /** Seconds spent waiting for a GPU node (when --wait was given). */
  waitedSeconds?: number;
  checks: CheckResult[];
  /** What a rollout of this plan may take (the progress deadline's parts). */
  rollout: Pick<RolloutBudget, "parts" | "progressDeadlineSeconds" | "timeoutMinutes">;
}

type Nodes = { ok: true; nodes: Node[] } | { ok: false; message: string };

export async function runPreflight(input: PreflightInput, deps: PreflightDeps): Promise<PreflightReport> {
  const m = input.deployment;
  const listNodes = async (): Promise<Nodes> => {
    const r = await deps.kubectl.get(["nodes"], NodeListSchema);
    return r.ok ? { ok: true, nodes: r.doc.items } : { ok: false, message: r.message };
  };

  let nodes = await listNodes();
  let waitedSeconds: number | undefined;
  if (input.waitSeconds && input.waitSeconds > 0) {
    const start = deps.now();
    const pollMs = deps.pollMs ?? 5000;
    let lastLog = -Infinity;
    while (!(nodes.ok && gpuSettled(nodes.nodes, m.gpu, m.onePodPerNode))) {
      const elapsed = (deps.now() - start) / 1000;
      if (elapsed >= input.waitSeconds) {
        deps.log(`preflight: no labelled GPU node after ${formatDuration(Math.round(elapsed))}; checking anyway`);
        break;
      }
      if (elapsed - lastLog >= 30 || lastLog < 0) {
        deps.log(`preflight: waiting for a GPU node (${formatDuration(Math.round(elapsed))} of ${formatDuration(input.waitSeconds)}): ${waitingFor(nodes, m)}`);
        lastLog = elapsed;
      }
      await deps.sleep(pollMs);
      nodes = await listNodes();
    }
    waitedSeconds = Math.round((deps.now() - start) / 1000);
  }

  const checks: CheckResult[] = [checkCluster(nodes.ok ? { ok: true, nodes: nodes.nodes.length } : nodes)];
  if (nodes.ok) {
    checks.push(...checkGpuNodes(nodes.nodes, m.gpu, m.onePodPerNode));
    checks.push(await runtimeClass(m, deps));
    for (const need of m.requiredSecrets) {
      const s = await deps.kubectl.get(["secret", need.name, "--namespace", m.namespace], SecretSchema);
      checks.push(s.ok || s.notFound ? checkSecret(need, m.namespace, s.ok ? s.doc : undefined) : unasked(`secret:${need.name}`, `Secret ${m.namespace}/${need.name}`, s.message));
    }
    checks.push(checkImageDisk(m.image, m.rollout.imageDiskGiB, nodes.nodes, await summaries(nodes.nodes, deps)));
  } else {
    for (const [id, title] of [["gpu", "GPU node"], ["runtimeclass", "RuntimeClass"], ["secrets", "Secrets"], ["image-disk", "disk for the image"]]) {
      checks.push({ id: id!, title: title!, status: "skip", detail: "the cluster did not answer" });
    }
  }
  checks.push(...(await repositoryChecks(input, deps)));
  return {
    profile: input.planned.plan.profile.name,
    ok: !checks.some((c) => c.status === "fail"),
    ...(waitedSeconds !== undefined ? { waitedSeconds } : {}),
    checks,
    rollout: { parts: m.rollout.parts, progressDeadlineSeconds: m.rollout.progressDeadlineSeconds, timeoutMinutes: m.rollout.timeoutMinutes },
  };
}

function waitingFor(nodes: Nodes, m: TritonDeployment): string {
  if (!nodes.ok) return `the cluster does not answer (${nodes.message})`;
  if (nodes.nodes.length === 0) return "no nodes";
  return nodes.nodes.map((n) => viewNode(n, m.gpu)).map((v) => `${v.name}: ${v.misses.join(", ") || "ok"}`).join("; ");
}

function unasked(id: string, title: string, message: string): CheckResult {
  return { id, title, status: "fail", detail: `could not ask: ${message}`, fix: "check that this kubeconfig may get it (kubectl auth can-i get <kind>)" };
}

async function runtimeClass(m: TritonDeployment, deps: PreflightDeps): Promise<CheckResult> {
  if (!m.runtimeClassName) return checkRuntimeClass(undefined, undefined);
  const r = await deps.kubectl.get(["runtimeclass", m.runtimeClassName], RuntimeClassSchema);
  if (!r.ok && !r.notFound) return unasked("runtimeclass", `RuntimeClass ${m.runtimeClassName}`, r.message);
  return checkRuntimeClass(m.runtimeClassName, r.ok ? r.doc : undefined);
}

/** The kubelet's stats summary of each GPU node: free space on the image filesystem. */
async function summaries(nodes: readonly Node[], deps: PreflightDeps): Promise<Map<string, StatsSummary | { error: string }>> {
  const out = new Map<string, StatsSummary | { error: string }>();
  for (const n of nodes.filter((x) => Number(x.status.allocatable[GPU_RESOURCE] ?? 0) > 0)) {
    const r = await deps.kubectl.get(["--raw", `/api/v1/nodes/${n.metadata.name}/proxy/stats/summary`], StatsSummarySchema);
    out.set(n.metadata.name, r.ok ? r.doc : { error: r.message });
  }
  return out;
}

async function repositoryChecks(input: PreflightInput, deps: PreflightDeps): Promise<CheckResult[]> {
  if ("skip" in input.repository) return [{ id: "repository", title: "repository folder", status: "skip", detail: input.repository.skip }];
  const dir = input.repository.dir;
  const profile = input.planned.plan.profile.name;
  const out: CheckResult[] = [checkRepositoryFolder(await deps.folder(dir), await deps.folder(posix.dirname(dir)), TRITON_UID, profile)];
  const cache = input.deployment.volumes.find((v) => v.name === "engine-cache");
  if (cache?.kind === "hostPath") out.push(checkEngineCache(await deps.folder(cache.path), TRITON_UID));
  out.push(checkManifest(dir, await deps.readManifest(dir), expectedRepository(input.planned, input.specs)));
  return out;
}

/** FolderFacts from this machine's disk. */
export async function folderFacts(path: string): Promise<FolderFacts> {
  try {
    const st = await lstat(path);
    const writable = await access(path, constants.W_OK).then(() => true, () => false);
    return { path, exists: true, isDirectory: st.isDirectory(), writable, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  } catch {
    return { path, exists: false, isDirectory: false, writable: false };
  }
}
