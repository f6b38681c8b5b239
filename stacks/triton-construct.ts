// TritonServer: Triton on Kubernetes from a VRAM plan and its GPU profile. A thin layer: every value
// comes from buildTritonDeployment (src/plan/deployment.ts, pure and unit-tested); this file only maps
// that model onto @cdktf/provider-kubernetes classes, plus the post-deploy gate and the URL output.
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1/index.js";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1/index.js";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1/index.js";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1/index.js";
import { Annotations, DataResource, TerraformOutput, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { buildTritonDeployment, TRITON_PORTS, type DeploymentOptions, type HttpProbe, type TritonDeployment, type Volume } from "../src/plan/deployment.ts";
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
  /** Resources the Deployment must wait for (e.g. the device plugin). @default none */
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
    const m = (this.model = buildTritonDeployment(props.plan, props.profile, props.options));
    for (const w of props.warnings ?? []) Annotations.of(this).addWarning(w);
    const metadata = { name: m.name, namespace: m.namespace, labels: m.labels };

    this.deployment = new DeploymentV1(this, "deployment", {
      metadata,
      waitForRollout: true, // the gate below must not run before the pods are Ready
      ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}),
      spec: {
        replicas: String(m.replicas),
        selector: { matchLabels: m.labels },
        strategy: m.strategy.type === "Recreate" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: String(m.strategy.maxSurge), maxUnavailable: String(m.strategy.maxUnavailable) } },
        progressDeadlineSeconds: m.probes.startup.periodSeconds * m.probes.startup.failureThreshold + 120,
        template: {
          metadata: { labels: m.labels, annotations: { "triton-deploy/load-models": String(props.plan.loadModels.length) } },
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
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerm: [{ matchExpressions: [{ key: m.nodeAffinity.key, operator: m.nodeAffinity.operator, values: [String(m.nodeAffinity.greaterThan)] }] }],
                },
              },
              ...(m.spreadAcrossNodes
                ? { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: [{ matchLabels: m.labels }] } }] } }
                : {}),
            },
            toleration: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            volume: m.volumes.map(volume),
            container: [
              {
                name: "tritonserver",
                image: m.image,
                args: m.args,
                env: m.env.map((e) => (e.secretKeyRef ? { name: e.name, valueFrom: { secretKeyRef: { name: e.secretKeyRef.name, key: e.secretKeyRef.key } } } : { name: e.name, value: e.value ?? "" })),
                envFrom: m.envFromSecrets.map((name) => ({ secretRef: { name } })),
                port: m.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" })),
                livenessProbe: probe(m.probes.liveness),
                readinessProbe: probe(m.probes.readiness),
                startupProbe: probe(m.probes.startup),
                resources: { requests: m.resources.requests, limits: m.resources.limits },
                volumeMount: m.mounts.map((v) => ({ name: v.volume, mountPath: v.mountPath, readOnly: v.readOnly })),
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    });

    this.service = new ServiceV1(this, "service", {
      metadata,
      spec: {
        type: m.service.type,
        selector: m.labels,
        port: m.service.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP", ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      },
    });

    if (m.podDisruptionBudget) {
      new PodDisruptionBudgetV1(this, "pdb", { metadata, spec: { minAvailable: String(m.podDisruptionBudget.minAvailable), selector: { matchLabels: m.labels } } });
    }
    if (m.networkPolicy) {
      const np = m.networkPolicy;
      new NetworkPolicyV1(this, "network-policy", {
        metadata,
        spec: {
          podSelector: { matchLabels: m.labels },
          policyTypes: ["Ingress"],
          ingress: [
            {
              // Clients in any namespace (every namespace carries kubernetes.io/metadata.name).
              from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "Exists" }] }, podSelector: { matchLabels: np.clientLabels } }],
              ports: [TRITON_PORTS.http, TRITON_PORTS.grpc].map((port) => ({ port: String(port), protocol: "TCP" })),
            },
            {
              from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": np.metricsNamespace } } }],
              ports: [{ port: String(TRITON_PORTS.metrics), protocol: "TCP" }],
            },
          ],
        },
      });
    }

    new TerraformOutput(this, "url", { value: m.url, description: `Triton HTTP endpoint (gRPC ${TRITON_PORTS.grpc}, metrics ${TRITON_PORTS.metrics} on the same service)` });
    new TerraformOutput(this, "load-models", { value: props.plan.loadModels, description: "Models Triton loads (--load-model), from the VRAM plan" });

    if (props.verify ?? true) {
      new DataResource(this, "verify-ready", {
        dependsOn: [this.deployment, this.service],
        // Re-run the gate whenever what Triton serves changes.
        triggersReplace: { image: m.image, loadModels: props.plan.loadModels.join(","), url: m.url },
        provisioners: [{ type: "local-exec", command: m.verify.command, interpreter: m.verify.interpreter, workingDir: m.verify.workingDir, environment: m.verify.environment }],
      });
    }
  }
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
  }
}
