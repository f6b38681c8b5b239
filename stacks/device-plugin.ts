// The NVIDIA device plugin (advertises nvidia.com/gpu) with GPU Feature Discovery (labels nodes with
// nvidia.com/gpu.memory, which the Triton pod's affinity needs), installed through the Helm provider.
// Optional: clusters with the GPU Operator already run both.
import { Release } from "@cdktf/provider-helm/lib/release/index.js";
import { Construct } from "constructs";

export interface NvidiaDevicePluginProps {
  /** Chart version (pinned so a deploy is repeatable). @default "0.17.1" */
  readonly version?: string;
  /** Namespace of the plugin's DaemonSets (created if missing). @default "nvidia-device-plugin" */
  readonly namespace?: string;
  /** RuntimeClass of the NVIDIA container runtime (k3s: nvidia). @default none (the node's default runtime) */
  readonly runtimeClassName?: string;
}

export const DEVICE_PLUGIN_CHART = { repository: "https://nvidia.github.io/k8s-device-plugin", chart: "nvidia-device-plugin" } as const;

export class NvidiaDevicePlugin extends Construct {
  readonly release: Release;

  constructor(scope: Construct, id: string, props: NvidiaDevicePluginProps = {}) {
    super(scope, id);
    const set = [{ name: "gfd.enabled", value: "true" }];
    if (props.runtimeClassName) set.push({ name: "runtimeClassName", value: props.runtimeClassName });
    this.release = new Release(this, "release", {
      name: "nvidia-device-plugin",
      ...DEVICE_PLUGIN_CHART,
      version: props.version ?? "0.17.1",
      namespace: props.namespace ?? "nvidia-device-plugin",
      createNamespace: true,
      wait: true,
      set,
    });
  }
}
