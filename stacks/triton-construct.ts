// TritonServer: Triton on Kubernetes from a VRAM plan and its GPU profile. A thin layer: every value
// comes from buildTritonDeployment (src/plan/deployment.ts, pure and unit-tested); this file only maps
// that model onto @cdktf/provider-kubernetes classes, plus the deploy's own steps (wait for a labelled
// GPU node, then the verify-ready gate) and the outputs.
import { DataKubernetesSecretV1 } from "@cdktf/provider-kubernetes/lib/data-kubernetes-secret-v1/index.js";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1/index.js";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2/index.js";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest/index.js";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1/index.js";
import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1/index.js";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1/index.js";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1/index.js";
import { Annotations, DataResource, TerraformOutput, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { ANNOTATIONS, buildTritonDeployment, TRITON_PORTS, type DeploymentOptions, type EnvVar, type HttpProbe, type RequiredSecret, type TritonDeployment, type Volume } from "../src/plan/deployment.ts";
import type { DeployStep } from "../src/plan/post-deploy.ts";
import type { Plan } from "../src/plan/plan.ts";
import type { LoadedProfile } from "../src/spec/profile.ts";

export interface TritonServerProps {
  /** The VRAM plan: its load list becomes the --load-model flags, its VRAM the node affinity. */
  readonly plan: Plan;
  /** The GPU profile the plan was made for: replicas, service type, repository, resources. */
  readonly profile: LoadedProfile;
  /** Overrides of the profile's deployment hints (image, repository, namespace, Secret names). @default none */
  readonly options?: DeploymentOptions;
  /** Run `npm run verify-ready` after the rollout and fail the deploy when the gate fails. @default true */
  readonly verify?: boolean;
  /** Resources the GPU wait (or, without it, the Deployment) must follow (e.g. the device plugin). @default none */
  readonly dependsOn?: ITerraformDependable[];
  /** Warnings about the inputs (shown by `cdktf synth`). @default none */
  readonly warnings?: string[];
}

export class TritonServer extends Construct {
  /** The deployment model everything below was mapped from. */
  readonly model: TritonDeployment;
  readonly deployment: DeploymentV1;
  readonly service: ServiceV1;

  constructor(scope: Construct, id: string, props: TritonServerProps) {
    super(scope, id);
    // A stack deploys: an object store's mutable base is refused unless the caller accepted it.
    const m = (this.model = buildTritonDeployment(props.plan, props.profile, { mutableRepository: "refuse", ...props.options }));
    for (const w of [...(props.warnings ?? []), ...m.warnings]) Annotations.of(this).addWarning(w);
    const metadata = { name: m.name, namespace: m.namespace, labels: m.labels };

    // A missing Secret, or one without a key the pod reads, fails `terraform plan` with the command
    // that creates it, not a pod in CreateContainerConfigError. (A data source keeps what it read in
    // the state, as every terraform state does: keep state where secrets belong.)
    const secrets = m.requiredSecrets.map((s, i) => new DataKubernetesSecretV1(this, `secret-${i}`, {
      metadata: { name: s.name, namespace: m.namespace },
      lifecycle: { postcondition: secretPostconditions(m.namespace, s) },
    }));

    // helm's wait returns before NFD and GFD have labelled the node: wait for the GPU first.
    const gpuWait = m.gpuWait ? new DataResource(this, "gpu-wait", { ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}), provisioners: [localExec(m.gpuWait)] }) : undefined;

    const claim = m.persistentVolumeClaim
      ? new PersistentVolumeClaimV1(this, "engine-cache", {
          metadata: { name: m.persistentVolumeClaim.name, namespace: m.namespace, labels: m.labels },
          // ReadWriteMany classes often bind on first use; the pod's own wait covers it.
          waitUntilBound: false,
          spec: {
            accessModes: [m.persistentVolumeClaim.accessMode],
            resources: { requests: { storage: `${m.persistentVolumeClaim.sizeGiB}Gi` } },
            ...(m.persistentVolumeClaim.storageClassName ? { storageClassName: m.persistentVolumeClaim.storageClassName } : {}),
          },
        })
      : undefined;

    this.deployment = new DeploymentV1(this, "deployment", {
      metadata,
      waitForRollout: true, // the gate below must not run before the pods are Ready
      dependsOn: [...(gpuWait ? [gpuWait] : (props.dependsOn ?? [])), ...secrets, ...(claim ? [claim] : [])],
      // terraform must outwait Kubernetes' progress deadline (src/plan/rollout.ts).
      timeouts: { create: m.timeouts.create, update: m.timeouts.update },
      ...(m.autoscaling ? { lifecycle: { ignoreChanges: ["spec[0].replicas"] } } : {}),
      spec: {
        replicas: String(m.replicas),
        selector: { matchLabels: m.labels },
        strategy: m.strategy.type === "Recreate" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: String(m.strategy.maxSurge), maxUnavailable: String(m.strategy.maxUnavailable) } },
        progressDeadlineSeconds: m.rollout.progressDeadlineSeconds,
        template: {
          metadata: { labels: m.labels, annotations: m.podAnnotations },
          spec: {
            ...(m.runtimeClassName ? { runtimeClassName: m.runtimeClassName } : {}),
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: String(m.security.runAsUser),
              runAsGroup: String(m.security.runAsGroup),
              fsGroup: String(m.security.fsGroup),
              seccompProfile: { type: "RuntimeDefault" },
            },
            affinity: {
              nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerm: [{ matchExpressions: m.nodeAffinity }] } },
              ...(m.onePodPerNode
                ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: [{ matchLabels: m.labels }] }] } }
                : {}),
            },
            toleration: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            volume: m.volumes.map(volume),
            container: [
              {
                name: "tritonserver",
                image: m.image,
                args: m.args,
                env: m.env.map(envVar),
                envFrom: m.envFromSecrets.map((name) => ({ secretRef: { name } })),
                port: m.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" })),
                livenessProbe: probe(m.probes.liveness),
                readinessProbe: probe(m.probes.readiness),
                startupProbe: probe(m.probes.startup),
                resources: { requests: m.resources.requests, limits: m.resources.limits },
                volumeMount: m.mounts.map((v) => ({ name: v.volume, mountPath: v.mountPath, readOnly: v.readOnly, ...(v.subPathExpr ? { subPathExpr: v.subPathExpr } : {}) })),
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    });

    const nodePortCidrs = m.service.type === "NodePort" && (m.networkPolicy?.allowedCidrs.length ?? 0) > 0;
    this.service = new ServiceV1(this, "service", {
      metadata,
      spec: {
        type: m.service.type,
        selector: m.labels,
        // An ipBlock sees the caller's address only when the node does not masquerade it.
        ...(nodePortCidrs ? { externalTrafficPolicy: "Local" } : {}),
        port: m.service.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP", ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      },
    });

    if (m.podDisruptionBudget) {
      new PodDisruptionBudgetV1(this, "pdb", { metadata, spec: { minAvailable: String(m.podDisruptionBudget.minAvailable), selector: { matchLabels: m.labels } } });
    }
    if (m.networkPolicy) {
      const np = m.networkPolicy;
      const api = [TRITON_PORTS.http, TRITON_PORTS.grpc].map((port) => ({ port: String(port), protocol: "TCP" }));
      new NetworkPolicyV1(this, "network-policy", {
        metadata,
        spec: {
          podSelector: { matchLabels: m.labels },
          policyTypes: ["Ingress"],
          ingress: [
            // Clients in any namespace (every namespace carries kubernetes.io/metadata.name).
            { from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] }, podSelector: { matchLabels: np.clientLabels } }], ports: api },
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": np.metricsNamespace } } }], ports: [{ port: String(TRITON_PORTS.metrics), protocol: "TCP" }] },
            ...(np.allowedCidrs.length > 0 ? [{ from: np.allowedCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: api }] : []),
          ],
        },
      });
    }
    if (m.monitor) {
      // kubernetes_manifest needs the CRD at plan time: behind a flag (profile monitoring.enabled, TRITON_MONITORING).
      const endpoint = { port: "metrics", path: "/metrics", interval: m.monitor.interval };
      const service = m.monitor.kind === "ServiceMonitor";
      new Manifest(this, "monitor", {
        manifest: {
          apiVersion: "monitoring.coreos.com/v1",
          kind: m.monitor.kind,
          metadata: { name: m.name, namespace: m.namespace, labels: { ...m.labels, ...m.monitor.labels } },
          spec: { selector: { matchLabels: m.labels }, ...(service ? { endpoints: [endpoint] } : { podMetricsEndpoints: [endpoint] }) },
        },
      });
    }
    if (m.autoscaling) {
      const a = m.autoscaling;
      new HorizontalPodAutoscalerV2(this, "autoscaler", {
        metadata,
        spec: {
          minReplicas: a.minReplicas,
          maxReplicas: a.maxReplicas,
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: m.name },
          metric: [{ type: "Pods", pods: { metric: { name: a.metric }, target: { type: "AverageValue", averageValue: String(a.targetAverageValue) } } }],
        },
      });
    }

    new TerraformOutput(this, "url", { value: m.url, description: `Triton HTTP endpoint (gRPC ${TRITON_PORTS.grpc}, metrics ${TRITON_PORTS.metrics} on the same service)` });
    new TerraformOutput(this, "port-forward", { value: m.portForward, description: "Reach the service from this machine on localhost:8000-8002" });
    new TerraformOutput(this, "restricted-api", {
      value: { httpHeader: m.restrictedApi.header, grpcMetadataKey: m.restrictedApi.grpcMetadataKey, secret: m.restrictedApi.secret.name },
      description: "The model-repository API needs this header (HTTP) or metadata key (gRPC: Triton's triton-grpc-protocol- prefix), valued as the Secret's key",
    });
    new TerraformOutput(this, "load-models", { value: props.plan.loadModels, description: "Models Triton loads (--load-model), from the VRAM plan" });

    if (props.verify ?? true) {
      new DataResource(this, "verify-ready", {
        dependsOn: [this.deployment, this.service],
        // Re-run the gate whenever what Triton serves changes.
        triggersReplace: { image: m.image, loadModels: props.plan.loadModels.join(","), url: m.url, repository: m.podAnnotations[ANNOTATIONS.manifest] ?? "" },
        provisioners: [localExec(m.verify)],
      });
    }
  }
}

function localExec(s: DeployStep) {
  return { type: "local-exec" as const, command: s.command, interpreter: s.interpreter, workingDir: s.workingDir, environment: s.environment };
}

/**
 * What `terraform plan` checks on a Secret the pod reads. terraform-provider-kubernetes v2.38's
 * kubernetes_secret_v1 data source (kubernetes/data_source_kubernetes_secret_v1.go) leaves `type`
 * and `data` unset when the Secret is missing, and otherwise puts every key into `data` (all but
 * those the config lists under `binary_data`, which we never do). `data` is sensitive; Terraform
 * unmarks a condition's result (internal/terraform/eval_conditions.go), and the messages name keys,
 * never values. A key must be there and non-empty, as preflight's checkSecret requires.
 */
export function secretPostconditions(namespace: string, s: RequiredSecret): { condition: string; errorMessage: string }[] {
  const exists = `coalesce(self.type, "-") != "-"`;
  const keys = s.keys.map((k) => `lookup(coalesce(self.data, {}), "${k}", "") != ""`).join(" && ");
  return [
    { condition: `\${${exists}}`, errorMessage: `Secret ${namespace}/${s.name} (${s.purpose}) does not exist; create it: ${s.fix}` },
    // Only when it exists, so a missing Secret gets one message.
    { condition: `\${!(${exists}) || (${keys})}`, errorMessage: `Secret ${namespace}/${s.name} (${s.purpose}) lacks a key the pod reads, or it is empty: it needs ${s.keys.join(", ")}; recreate it: kubectl -n ${namespace} delete secret ${s.name}; ${s.fix}` },
  ];
}

function envVar(e: EnvVar) {
  if (e.secretKeyRef) return { name: e.name, valueFrom: { secretKeyRef: { name: e.secretKeyRef.name, key: e.secretKeyRef.key } } };
  if (e.fieldPath) return { name: e.name, valueFrom: { fieldRef: { fieldPath: e.fieldPath } } };
  return { name: e.name, value: e.value ?? "" };
}

function probe(p: HttpProbe) {
  return { httpGet: { path: p.path, port: String(p.port) }, periodSeconds: p.periodSeconds, timeoutSeconds: p.timeoutSeconds, failureThreshold: p.failureThreshold };
}

function volume(v: Volume) {
  switch (v.kind) {
    case "hostPath":
      return { name: v.name, hostPath: { path: v.path, type: "Directory" } };
    case "memory":
      return { name: v.name, emptyDir: { medium: "Memory", sizeLimit: `${v.sizeMiB}Mi` } };
    case "secret":
      return { name: v.name, secret: { secretName: v.secretName } };
    case "claim":
      return { name: v.name, persistentVolumeClaim: { claimName: v.claimName } };
  }
}
