// What `kubectl get … -o json` prints on a k3s workstation with an RTX 2060, written by hand from the
// upstream formats: core/v1 Node (labels from Node Feature Discovery and GPU Feature Discovery,
// k8s-device-plugin v0.17 internal/lm: nvidia.com/gpu.memory is NVML's total, 5926 MiB on this
// "6 GB" card), node.k8s.io/v1 RuntimeClass as k3s ships it (manifests/runtimes.yaml, applied by its
// deploy controller), core/v1 Secret, and the kubelet's stats/v1alpha1 summary. Variants change one
// thing each: a 550 driver, a node before the device plugin and GFD ran, the image already pulled.

type Json = Record<string, unknown>;

const GFD = {
  "nvidia.com/cuda.driver-version.full": "560.35.03",
  "nvidia.com/cuda.driver-version.major": "560",
  "nvidia.com/cuda.driver-version.minor": "35",
  "nvidia.com/cuda.driver-version.revision": "03",
  "nvidia.com/cuda.driver.major": "560",
  "nvidia.com/cuda.driver.minor": "35",
  "nvidia.com/cuda.driver.rev": "03",
  "nvidia.com/cuda.runtime-version.full": "12.6",
  "nvidia.com/cuda.runtime-version.major": "12",
  "nvidia.com/cuda.runtime-version.minor": "6",
  "nvidia.com/cuda.runtime.major": "12",
  "nvidia.com/cuda.runtime.minor": "6",
  "nvidia.com/gfd.timestamp": "1767225600",
  "nvidia.com/gpu.compute.major": "7",
  "nvidia.com/gpu.compute.minor": "5",
  "nvidia.com/gpu.count": "1",
  "nvidia.com/gpu.family": "turing",
  "nvidia.com/gpu.machine": "MS-7C02",
  "nvidia.com/gpu.memory": "5926",
  "nvidia.com/gpu.mode": "graphics",
  "nvidia.com/gpu.present": "true",
  "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2060",
  "nvidia.com/gpu.replicas": "1",
  "nvidia.com/gpu.sharing-strategy": "none",
  "nvidia.com/mig.capable": "false",
  "nvidia.com/mps.capable": "false",
  "nvidia.com/vgpu.present": "false",
};

const NFD = {
  "feature.node.kubernetes.io/cpu-cpuid.AVX2": "true",
  "feature.node.kubernetes.io/cpu-model.vendor_id": "AMD",
  "feature.node.kubernetes.io/kernel-version.full": "6.8.0-51-generic",
  "feature.node.kubernetes.io/pci-10de.present": "true",
  "feature.node.kubernetes.io/system-os_release.ID": "ubuntu",
};

const K3S = {
  "beta.kubernetes.io/arch": "amd64",
  "beta.kubernetes.io/instance-type": "k3s",
  "beta.kubernetes.io/os": "linux",
  "kubernetes.io/arch": "amd64",
  "kubernetes.io/hostname": "rtx-box",
  "kubernetes.io/os": "linux",
  "node-role.kubernetes.io/control-plane": "true",
  "node-role.kubernetes.io/master": "true",
  "node.kubernetes.io/instance-type": "k3s",
};

const condition = (type: string, status: string, reason: string, message: string) => ({
  type, status, reason, message, lastHeartbeatTime: "2026-12-01T09:14:07Z", lastTransitionTime: "2026-12-01T08:02:51Z",
});

const IMAGES = [
  { names: ["docker.io/rancher/mirrored-pause@sha256:74c4244427b7312c5b901fe0f67cbc53683d06f4f24c6faee65d4182bf0fa893", "docker.io/rancher/mirrored-pause:3.6"], sizeBytes: 301463 },
  { names: ["nvcr.io/nvidia/k8s-device-plugin@sha256:9d6c5e4b1bd8a1b1d5c1d3f2b8c0f4a5e6b7c8d9e0f1a2b3c4d5e6f708192a3b", "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"], sizeBytes: 214158820 },
  { names: ["registry.k8s.io/nfd/node-feature-discovery@sha256:1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a", "registry.k8s.io/nfd/node-feature-discovery:v0.15.3"], sizeBytes: 53812733 },
];
const TRITON_IMAGE = { names: ["nvcr.io/nvidia/tritonserver@sha256:4ec2c8a1c0d1b4f26bd0c0a0a4f3a8a86b3f3e2c4b55d7ac1e0f0b8b6a2d1e90", "nvcr.io/nvidia/tritonserver:24.08-py3"], sizeBytes: 10874619035 };

interface NodeOptions {
  name?: string;
  labels?: Record<string, string | undefined>;
  gpus?: number | undefined;
  ready?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
}

/** One Node as `kubectl get node <name> -o json` prints it. */
export function node(o: NodeOptions = {}): Json {
  const name = o.name ?? "rtx-box";
  const labels = Object.fromEntries(Object.entries({ ...K3S, "kubernetes.io/hostname": name, ...NFD, ...GFD, ...o.labels }).filter(([, v]) => v !== undefined));
  const gpu = o.gpus === undefined ? {} : { "nvidia.com/gpu": String(o.gpus) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      annotations: {
        "alpha.kubernetes.io/provided-node-ip": "192.168.1.20",
        "k3s.io/hostname": name,
        "k3s.io/internal-ip": "192.168.1.20",
        "k3s.io/node-args": '["server","--write-kubeconfig-mode","644"]',
        "nfd.node.kubernetes.io/feature-labels": "cpu-cpuid.AVX2,cpu-model.vendor_id,kernel-version.full,pci-10de.present,system-os_release.ID",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
      creationTimestamp: "2026-11-20T17:40:02Z",
      finalizers: ["wrangler.cattle.io/node"],
      labels,
      name,
      resourceVersion: "184223",
      uid: "0f6a3c2e-5b1d-4e8a-9c7f-2d4b6a8e0c1f",
    },
    spec: { podCIDR: "10.42.0.0/24", podCIDRs: ["10.42.0.0/24"], providerID: `k3s://${name}` },
    status: {
      addresses: [{ address: "192.168.1.20", type: "InternalIP" }, { address: name, type: "Hostname" }],
      allocatable: { cpu: "12", "ephemeral-storage": "467190591183", "hugepages-1Gi": "0", "hugepages-2Mi": "0", memory: "32692832Ki", pods: "110", ...gpu },
      capacity: { cpu: "12", "ephemeral-storage": "480254788Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", memory: "32692832Ki", pods: "110", ...gpu },
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        o.ready === false ? condition("Ready", "False", "KubeletNotReady", "container runtime network not ready") : condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      images: o.images ?? IMAGES,
      nodeInfo: {
        architecture: "amd64",
        bootID: "5c1e7a4f-8d2b-4f3e-a6c9-1b0d7e2f4a8c",
        containerRuntimeVersion: "containerd://1.7.23-k3s2",
        kernelVersion: "6.8.0-51-generic",
        kubeProxyVersion: "v1.31.4+k3s1",
        kubeletVersion: "v1.31.4+k3s1",
        machineID: "3b9f2d7c1a6e4f8b9c0d2e4f6a8b0c1d",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04.1 LTS",
        systemUUID: "03000200-0400-0500-0006-000700080009",
      },
    },
  };
}

/** The RTX 2060 box, labelled and advertising its GPU: every GPU check passes for gpu-local. */
export const rtx2060 = () => node({ gpus: 1 });
/** The same box with the 550 driver: CUDA 12.4, too old for Triton 24.08. */
export const rtx2060Driver550 = () => node({
  gpus: 1,
  labels: {
    "nvidia.com/cuda.driver-version.full": "550.120", "nvidia.com/cuda.driver-version.major": "550", "nvidia.com/cuda.driver-version.minor": "120", "nvidia.com/cuda.driver-version.revision": "",
    "nvidia.com/cuda.driver.major": "550", "nvidia.com/cuda.driver.minor": "120", "nvidia.com/cuda.driver.rev": "",
    "nvidia.com/cuda.runtime-version.full": "12.4", "nvidia.com/cuda.runtime-version.minor": "4", "nvidia.com/cuda.runtime.minor": "4",
  },
});
/** Just after the Helm release: NFD has labelled the PCI device, the plugin and GFD have not run yet. */
export const rtx2060Fresh = () => node({ labels: Object.fromEntries(Object.keys(GFD).map((k) => [k, undefined])) });
/** The image pre-pulled with `sudo k3s ctr images pull`. */
export const rtx2060Pulled = () => node({ gpus: 1, images: [...IMAGES, TRITON_IMAGE] });

/** `kubectl get nodes -o json` */
export function nodeList(...items: Json[]): Json {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

/** `kubectl get runtimeclass nvidia -o json` on k3s. */
export function runtimeClass(handler = "nvidia"): Json {
  return {
    apiVersion: "node.k8s.io/v1",
    handler,
    kind: "RuntimeClass",
    metadata: {
      annotations: { "objectset.rio.cattle.io/applied": "H4sIAAAAAAAA/4yQQWvDMAyF/4u...", "objectset.rio.cattle.io/id": "", "objectset.rio.cattle.io/owner-gvk": "k3s.cattle.io/v1, Kind=Addon", "objectset.rio.cattle.io/owner-name": "runtimes", "objectset.rio.cattle.io/owner-namespace": "kube-system" },
      creationTimestamp: "2026-11-20T17:40:31Z",
      labels: { "objectset.rio.cattle.io/hash": "a1b9d3d3a0b3c2c7e0c1a86dbd81e5e8c7dbe3f2" },
      name: "nvidia",
      resourceVersion: "305",
      uid: "6e2c0f1a-3b4d-4c5e-8f7a-9b0c1d2e3f4a",
    },
  };
}

/** `kubectl -n triton get secret triton-repository-api -o json`; data values are base64. */
export function secret(name: string, data: Record<string, string>): Json {
  return {
    apiVersion: "v1",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    kind: "Secret",
    metadata: { creationTimestamp: "2026-12-01T08:30:12Z", name, namespace: "triton", resourceVersion: "183901", uid: "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d" },
    type: "Opaque",
  };
}

/** `kubectl get --raw /api/v1/nodes/rtx-box/proxy/stats/summary`, trimmed to the node part and no pods. */
export function statsSummary(imageFsAvailableGiB: number, name = "rtx-box"): Json {
  const fs = (availableGiB: number) => ({ time: "2026-12-01T09:14:10Z", availableBytes: Math.round(availableGiB * 1024 ** 3), capacityBytes: 491780902912, usedBytes: 491780902912 - Math.round(availableGiB * 1024 ** 3), inodesFree: 28512345, inodes: 30531584, inodesUsed: 2019239 });
  return {
    node: {
      nodeName: name,
      systemContainers: [{ name: "kubelet", startTime: "2026-12-01T08:02:40Z", cpu: { time: "2026-12-01T09:14:08Z", usageNanoCores: 41233011, usageCoreNanoSeconds: 151233011000 } }],
      startTime: "2026-11-20T17:39:55Z",
      cpu: { time: "2026-12-01T09:14:08Z", usageNanoCores: 611233011, usageCoreNanoSeconds: 9151233011000 },
      memory: { time: "2026-12-01T09:14:08Z", availableBytes: 25123456789, usageBytes: 8123456789, workingSetBytes: 7123456789, rssBytes: 5123456789, pageFaults: 123456, majorPageFaults: 12 },
      fs: fs(imageFsAvailableGiB),
      runtime: { imageFs: fs(imageFsAvailableGiB), containerFs: fs(imageFsAvailableGiB) },
      rlimit: { time: "2026-12-01T09:14:10Z", maxpid: 4194304, curproc: 1873 },
    },
    pods: [],
  };
}
