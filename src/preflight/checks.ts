// preflight's checks: pure functions over the documents kubectl returns (src/preflight/documents.ts)
// and over facts gathered from this machine's disk, each answering pass, warn, fail or skip with
// what was seen and how to fix it. The requirements come from the same functions the stacks use
// (src/plan/gpu-requirements.ts, src/plan/deployment.ts), so preflight checks what will be deployed.
import { formatBytes } from "../cli.ts";
import type { RequiredSecret } from "../plan/deployment.ts";
import { GFD_LABELS, GPU_RESOURCE, type GpuRequirements } from "../plan/gpu-requirements.ts";
import type { Manifest } from "../repo/manifest.ts";
import type { Node, RuntimeClass, Secret, StatsSummary } from "./documents.ts";
import { manifestMismatches, type ExpectedRepository } from "./manifest.ts";

export type Status = "pass" | "warn" | "fail" | "skip";

export interface CheckResult {
  id: string;
  title: string;
  status: Status;
  /** What was seen. */
  detail: string;
  /** What to do (present when the status is warn or fail). */
  fix?: string;
}

const GiB = 1024 ** 3;
/** Node Feature Discovery's label for a node with an NVIDIA PCI device (vendor 10de). */
export const NFD_NVIDIA_LABEL = "feature.node.kubernetes.io/pci-10de.present";
const WAIT_FIX = "the device plugin and GPU Feature Discovery need a minute after NFD labels the node: npm run preflight -- --wait 600";

export function checkCluster(reached: { ok: true; nodes: number } | { ok: false; message: string }): CheckResult {
  const base = { id: "cluster", title: "cluster answers" };
  if (reached.ok) return { ...base, status: "pass", detail: `kubectl lists ${reached.nodes} node(s)` };
  return { ...base, status: "fail", detail: reached.message, fix: "check --kubeconfig/--context (kubectl reads KUBECONFIG, not KUBE_CONFIG_PATH; k3s: /etc/rancher/k3s/k3s.yaml, readable with --write-kubeconfig-mode 644)" };
}

/** One node as preflight sees it. */
export interface NodeView {
  name: string;
  ready: boolean;
  gpus: number;
  nfdNvidia: boolean;
  memoryMiB?: number;
  driverMajor?: number;
  product?: string;
  /** Requirements this node misses (empty: the pod can land here). */
  misses: string[];
}

/** GFD appends -SHARED to the product when a GPU is time-sliced (k8s-device-plugin internal/lm). */
function productName(p: string | undefined): string | undefined {
  return p?.replace(/-SHARED$/, "");
}

function intLabel(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function viewNode(n: Node, r: GpuRequirements): NodeView {
  const l = n.metadata.labels;
  const gpus = intLabel(n.status.allocatable[GPU_RESOURCE]) ?? 0;
  const ready = n.status.conditions.some((c) => c.type === "Ready" && c.status === "True") && n.spec.unschedulable !== true;
  const v: NodeView = { name: n.metadata.name, ready, gpus, nfdNvidia: l[NFD_NVIDIA_LABEL] === "true", misses: [] };
  const memoryMiB = intLabel(l[GFD_LABELS.memory]);
  const driverMajor = intLabel(l[GFD_LABELS.driverMajor]);
  const product = productName(l[GFD_LABELS.product]);
  if (memoryMiB !== undefined) v.memoryMiB = memoryMiB;
  if (driverMajor !== undefined) v.driverMajor = driverMajor;
  if (product !== undefined) v.product = product;
  if (!ready) v.misses.push("not Ready or cordoned");
  if (gpus < 1) v.misses.push(`no allocatable ${GPU_RESOURCE}`);
  if (memoryMiB === undefined || driverMajor === undefined) v.misses.push("GFD labels missing");
  if (memoryMiB !== undefined && memoryMiB < r.minMemoryMiB) v.misses.push(`${GFD_LABELS.memory} ${memoryMiB} < ${r.minMemoryMiB}`);
  if (driverMajor !== undefined && driverMajor < r.minDriverMajor) v.misses.push(`driver ${driverMajor} < ${r.minDriverMajor}`);
  if (r.affinity === "product" && product !== r.product) v.misses.push(`product ${product ?? "unlabelled"} is not ${r.product}`);
  return v;
}

/**
 * GPUs the pods can use: on Ready nodes that meet every requirement; one per node when the pods are
 * spread one per node (TritonDeployment.onePodPerNode: a second GPU on a node then stays idle).
 */
export function placeableGpus(views: readonly NodeView[], onePerNode = false): number {
  return views.filter((v) => v.misses.length === 0).reduce((s, v) => s + (onePerNode ? Math.min(v.gpus, 1) : v.gpus), 0);
}

/** The GPU checks, node by node; a check passes when some GPU node passes it. */
export function checkGpuNodes(nodes: readonly Node[], r: GpuRequirements, onePerNode = false): CheckResult[] {
  const views = nodes.map((n) => viewNode(n, r));
  const gpuNodes = views.filter((v) => v.gpus > 0);
  const names = (vs: readonly NodeView[]) => vs.map((v) => v.name).join(", ");
  const out: CheckResult[] = [];

  const gpu = { id: "gpu", title: `a node with allocatable ${GPU_RESOURCE}` };
  if (gpuNodes.length > 0) out.push({ ...gpu, status: "pass", detail: gpuNodes.map((v) => `${v.name}: ${v.gpus} GPU`).join("; ") });
  else {
    const nfd = views.filter((v) => v.nfdNvidia);
    out.push(nfd.length > 0
      ? { ...gpu, status: "fail", detail: `NFD found an NVIDIA device on ${names(nfd)}, but no node advertises ${GPU_RESOURCE} yet`, fix: `the device plugin has not registered: kubectl -n nvidia-device-plugin get pods; it needs runtimeClassName nvidia on k3s. ${WAIT_FIX}` }
      : { ...gpu, status: "fail", detail: `no node advertises ${GPU_RESOURCE} and none carries ${NFD_NVIDIA_LABEL}`, fix: "install the NVIDIA driver and nvidia-container-toolkit before k3s starts (k3s then finds the nvidia runtime), then the device plugin with GFD (cdktf deploy gpu-local installs it)" });
  }

  const skip = (id: string, title: string): CheckResult => ({ id, title, status: "skip", detail: "no GPU node to check" });
  const labelled = gpuNodes.filter((v) => v.memoryMiB !== undefined && v.driverMajor !== undefined);
  const labels = { id: "gfd-labels", title: "GPU Feature Discovery labels" };
  if (gpuNodes.length === 0) out.push(skip(labels.id, labels.title));
  else if (labelled.length > 0) out.push({ ...labels, status: "pass", detail: labelled.map((v) => `${v.name}: ${GFD_LABELS.memory}=${v.memoryMiB}, ${GFD_LABELS.driverMajor}=${v.driverMajor}, ${GFD_LABELS.product}=${v.product ?? "-"}`).join("; ") });
  else out.push({ ...labels, status: "fail", detail: `${names(gpuNodes)} lack ${GFD_LABELS.memory} or ${GFD_LABELS.driverMajor}`, fix: `enable GFD (helm value gfd.enabled=true; cdktf deploy gpu-local sets it). ${WAIT_FIX}` });

  const memory = { id: "gpu-memory", title: `${GFD_LABELS.memory} >= ${r.minMemoryMiB} MiB (${r.memoryReason})` };
  if (labelled.length === 0) out.push(skip(memory.id, memory.title));
  else {
    const ok = labelled.filter((v) => v.memoryMiB! >= r.minMemoryMiB);
    const seen = labelled.map((v) => `${v.name}: ${v.memoryMiB} MiB`).join("; ");
    out.push(ok.length > 0
      ? { ...memory, status: "pass", detail: seen }
      : { ...memory, status: "fail", detail: `${seen}: below what the plan needs`, fix: "NVML reports less than the nominal size; the plan must fit what the card reports: lower reserveMiB or the optional branches in the profile (npm run plan shows the arithmetic), or use a larger card" });
  }

  const driver = { id: "driver", title: `driver major >= ${r.minDriverMajor}` };
  if (labelled.length === 0) out.push(skip(driver.id, driver.title));
  else {
    const ok = labelled.filter((v) => v.driverMajor! >= r.minDriverMajor);
    const seen = labelled.map((v) => `${v.name}: ${v.driverMajor}`).join("; ");
    out.push(ok.length > 0
      ? { ...driver, status: "pass", detail: seen }
      : { ...driver, status: "fail", detail: `${seen}: Triton 24.08 is built on CUDA 12.6`, fix: `install NVIDIA driver ${r.minDriverMajor} or newer on the node and reboot (a GeForce card has no CUDA forward compatibility)` });
  }

  const product = { id: "product", title: `${GFD_LABELS.product} is ${r.product}` };
  if (labelled.length === 0) out.push(skip(product.id, product.title));
  else {
    const ok = labelled.filter((v) => v.product === r.product);
    const seen = labelled.map((v) => `${v.name}: ${v.product ?? "unlabelled"}`).join("; ");
    if (ok.length > 0) out.push({ ...product, status: "pass", detail: seen });
    else if (r.affinity === "product") out.push({ ...product, status: "fail", detail: `${seen}: the pod's affinity matches the product`, fix: `set gpu.product to the label's value, or gpu.affinity: memory` });
    else out.push({ ...product, status: "warn", detail: `${seen}: the plan's estimates were made for ${r.product}`, fix: "the memory floor still holds; write a profile for this card if it differs much" });
  }

  const placement = { id: "placement", title: onePerNode ? `${r.gpus} GPU node(s) the pods' affinity can use, one pod per node` : `${r.gpus} GPU(s) the pod's affinity can use` };
  const usable = placeableGpus(views, onePerNode);
  if (usable >= r.gpus) out.push({ ...placement, status: "pass", detail: `${usable} on ${names(views.filter((v) => v.misses.length === 0))}` });
  else out.push({ ...placement, status: "fail", detail: `${usable} usable: ${views.map((v) => `${v.name}: ${v.misses.join(", ") || "ok"}`).join("; ")}`, fix: onePerNode ? "a pod would stay Pending: the pods run one per node (each node writes its own TensorRT engine cache), so every replica needs a GPU node of its own; see the checks above" : "the pod would stay Pending; see the checks above" });
  return out;
}

/**
 * Has the wait for GPU nodes ended? Once enough Ready nodes advertise GPUs and carry GFD's labels,
 * waiting changes nothing: either the pod can be placed, or a driver or memory that misses the
 * requirements will not fix itself.
 */
export function gpuSettled(nodes: readonly Node[], r: GpuRequirements, onePerNode = false): boolean {
  const settled = nodes.map((n) => viewNode(n, r)).filter((v) => v.ready && v.gpus > 0 && v.memoryMiB !== undefined && v.driverMajor !== undefined);
  return settled.reduce((s, v) => s + (onePerNode ? 1 : v.gpus), 0) >= r.gpus;
}

export function checkRuntimeClass(name: string | undefined, rc: RuntimeClass | undefined): CheckResult {
  const base = { id: "runtimeclass", title: `RuntimeClass ${name ?? "(none)"}` };
  if (!name) return { ...base, status: "skip", detail: "the profile sets no runtimeClassName (the node's default runtime must be nvidia)" };
  if (!rc) {
    return { ...base, status: "fail", detail: `RuntimeClass ${name} does not exist`, fix: `recent k3s creates it (manifests/runtimes.yaml); otherwise: kubectl get runtimeclass ${name} || printf 'apiVersion: node.k8s.io/v1\\nkind: RuntimeClass\\nmetadata: {name: ${name}}\\nhandler: nvidia\\n' | kubectl apply -f -` };
  }
  if (rc.handler !== "nvidia") return { ...base, status: "warn", detail: `handler ${rc.handler}`, fix: "k3s names the NVIDIA containerd runtime nvidia; make sure this handler runs nvidia-container-runtime" };
  return { ...base, status: "pass", detail: `handler ${rc.handler}` };
}

/** A Secret the pod needs: it exists and carries every key, non-empty. Values are never shown. */
export function checkSecret(need: RequiredSecret, namespace: string, s: Secret | undefined): CheckResult {
  const base = { id: `secret:${need.name}`, title: `Secret ${namespace}/${need.name} (${need.purpose})` };
  if (!s) return { ...base, status: "fail", detail: "does not exist", fix: `kubectl create namespace ${namespace} (if missing); ${need.fix}` };
  const missing = need.keys.filter((k) => !s.data[k]);
  if (missing.length > 0) return { ...base, status: "fail", detail: `has no (or an empty) key ${missing.join(", ")}; it has: ${Object.keys(s.data).sort().join(", ") || "nothing"}`, fix: need.fix };
  return { ...base, status: "pass", detail: `keys ${need.keys.join(", ")} present` };
}

/** `nvcr.io/nvidia/tritonserver:24.08-py3` as containerd lists it (docker.io/library/…, :latest). */
export function normalizeImage(ref: string): string {
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  let out = hasRegistry ? ref : `docker.io/${slash < 0 ? `library/${ref}` : ref}`;
  const last = out.slice(out.lastIndexOf("/") + 1);
  if (!last.includes(":") && !last.includes("@")) out += ":latest";
  return out;
}

/** The image is on a GPU node already, or the node's image filesystem has room for it. */
export function checkImageDisk(image: string, needGiB: number, nodes: readonly Node[], summaries: ReadonlyMap<string, StatsSummary | { error: string }>): CheckResult {
  const base = { id: "image-disk", title: `disk for ${image} (~${needGiB} GiB: layers + unpacked)` };
  const want = normalizeImage(image);
  const gpuNodes = nodes.filter((n) => (intLabel(n.status.allocatable[GPU_RESOURCE]) ?? 0) > 0);
  if (gpuNodes.length === 0) return { ...base, status: "skip", detail: "no GPU node to check" };
  const pulled = gpuNodes.filter((n) => n.status.images.some((i) => i.names.some((x) => normalizeImage(x) === want)));
  if (pulled.length === gpuNodes.length) return { ...base, status: "pass", detail: `already pulled on ${pulled.map((n) => n.metadata.name).join(", ")}: no download in the rollout` };
  const lines: string[] = [];
  let short = false;
  let unknown = false;
  for (const n of gpuNodes.filter((x) => !pulled.includes(x))) {
    const s = summaries.get(n.metadata.name);
    const fs = s && "node" in s ? (s.node.runtime?.imageFs ?? s.node.fs) : undefined;
    if (!fs || fs.availableBytes === undefined) {
      unknown = true;
      lines.push(`${n.metadata.name}: free space unknown (${s && "error" in s ? s.error : "no stats"})`);
      continue;
    }
    const ok = fs.availableBytes >= needGiB * GiB;
    short ||= !ok;
    lines.push(`${n.metadata.name}: ${formatBytes(fs.availableBytes)} free for images`);
  }
  const prePull = `pre-pull it: sudo k3s ctr images pull ${image} (the deadline then has minutes to spare)`;
  if (short) return { ...base, status: "fail", detail: lines.join("; "), fix: `free space where containerd keeps images (k3s: /var/lib/rancher/k3s/agent/containerd), then ${prePull}` };
  if (unknown) return { ...base, status: "warn", detail: lines.join("; "), fix: `check df -h /var/lib/rancher/k3s/agent/containerd on the node; ${prePull}` };
  return { ...base, status: "pass", detail: `${lines.join("; ")}; not pulled yet (${prePull})` };
}

/** What this machine says about a folder (gathered by an edge function, checked here). */
export interface FolderFacts {
  path: string;
  exists: boolean;
  isDirectory: boolean;
  /** Writable by the user running preflight (and so synth-repo). */
  writable: boolean;
  uid?: number;
  gid?: number;
  /** Permission bits, e.g. 0o755. */
  mode?: number;
}

/** synth-repo locks, stages and renames in the parent: the user must be able to write there. */
export function checkRepositoryFolder(repo: FolderFacts, parent: FolderFacts, tritonUid: number, profile: string): CheckResult {
  const base = { id: "repository", title: `repository folder ${repo.path}` };
  const own = `sudo install -d -o "$USER" ${parent.path}`;
  if (!parent.exists || !parent.isDirectory) return { ...base, status: "fail", detail: `${parent.path} does not exist`, fix: `${own}, then npm run synth-repo -- --profile ${profile} --out ${repo.path} --copy` };
  if (!parent.writable) return { ...base, status: "fail", detail: `${parent.path} is not writable by this user: synth-repo stages and swaps the repository there (EACCES)`, fix: `sudo chown "$USER" ${parent.path}` };
  if (!repo.exists || !repo.isDirectory) return { ...base, status: "fail", detail: `${repo.path} does not exist`, fix: `npm run synth-repo -- --profile ${profile} --out ${repo.path} --copy` };
  if (!repo.writable) return { ...base, status: "fail", detail: `${repo.path} is not writable by this user`, fix: `sudo chown -R "$USER" ${repo.path}` };
  if (!readableBy(repo, tritonUid) || !readableBy(parent, tritonUid)) {
    return { ...base, status: "fail", detail: `Triton runs as uid ${tritonUid} and cannot read ${readableBy(parent, tritonUid) ? repo.path : parent.path}`, fix: `chmod a+rX ${parent.path} && chmod -R a+rX ${repo.path}` };
  }
  return { ...base, status: "pass", detail: `writable here, readable by uid ${tritonUid}` };
}

/** The engine cache must be writable by Triton's uid (a hostPath is not chowned by fsGroup). */
export function checkEngineCache(dir: FolderFacts, tritonUid: number): CheckResult {
  const base = { id: "engine-cache", title: `TensorRT engine cache ${dir.path}` };
  const fix = `sudo install -d -o ${tritonUid} -g ${tritonUid} ${dir.path}`;
  if (!dir.exists || !dir.isDirectory) return { ...base, status: "fail", detail: "does not exist (the pod mounts it as a Directory)", fix };
  if (!writableBy(dir, tritonUid)) return { ...base, status: "fail", detail: `not writable by uid ${tritonUid} (owner ${dir.uid}, mode ${dir.mode?.toString(8)})`, fix };
  return { ...base, status: "pass", detail: `writable by uid ${tritonUid}` };
}

export function checkManifest(path: string, m: Manifest | undefined, want: ExpectedRepository): CheckResult {
  const base = { id: "manifest", title: `repository manifest matches the specs and ${want.profile}` };
  const fix = `npm run synth-repo -- --profile ${want.profile} --out ${path} --copy`;
  if (!m) return { ...base, status: "fail", detail: `no manifest.json written by synth-repo in ${path}`, fix };
  const mismatches = manifestMismatches(m, want);
  if (mismatches.length > 0) return { ...base, status: "fail", detail: mismatches.join("; "), fix };
  return { ...base, status: "pass", detail: `${m.models.length} models, written for ${want.profile}${want.specs ? ", specs unchanged" : ""}` };
}

/** The permission bits `uid` gets on `f` (owner, else group by the same number, else other) cover `need` (as owner bits). */
function allows(f: FolderFacts, uid: number, need: number): boolean {
  if (f.mode === undefined) return false;
  const shifted = f.uid === uid ? need : f.gid === uid ? need >> 3 : need >> 6;
  return (f.mode & shifted) === shifted;
}
function readableBy(f: FolderFacts, uid: number): boolean {
  return allows(f, uid, 0o500);
}
function writableBy(f: FolderFacts, uid: number): boolean {
  return allows(f, uid, 0o300);
}

export function failed(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((r) => r.status === "fail");
}
