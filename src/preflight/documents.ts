// The parts of what `kubectl get … -o json` returns that preflight reads: Node (core/v1), NodeList,
// RuntimeClass (node.k8s.io/v1), Secret (core/v1), and the kubelet's stats summary
// (/api/v1/nodes/<node>/proxy/stats/summary, stats/v1alpha1). Parsed once at the edge; every other
// field passes through untouched, so a newer server's extra fields never break the checks.
import { z } from "zod";

const labels = z.record(z.string(), z.string()).default({});
const quantities = z.record(z.string(), z.string()).default({});

export const NodeSchema = z.looseObject({
  kind: z.literal("Node").optional(),
  metadata: z.looseObject({ name: z.string(), labels }),
  spec: z.looseObject({ unschedulable: z.boolean().optional() }).default({}),
  status: z
    .looseObject({
      capacity: quantities,
      allocatable: quantities,
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).default([]),
      images: z.array(z.looseObject({ names: z.array(z.string()).default([]), sizeBytes: z.number().optional() })).default([]),
    })
    .default({ capacity: {}, allocatable: {}, conditions: [], images: [] }),
});
export type Node = z.infer<typeof NodeSchema>;

export const NodeListSchema = z.looseObject({ items: z.array(NodeSchema) });

export const RuntimeClassSchema = z.looseObject({
  kind: z.literal("RuntimeClass").optional(),
  metadata: z.looseObject({ name: z.string() }),
  handler: z.string(),
});
export type RuntimeClass = z.infer<typeof RuntimeClassSchema>;

export const SecretSchema = z.looseObject({
  kind: z.literal("Secret").optional(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
  type: z.string().optional(),
  /** base64 values; preflight reads only whether a key is there and non-empty, never the value. */
  data: z.record(z.string(), z.string()).default({}),
});
export type Secret = z.infer<typeof SecretSchema>;

const fsStats = z.looseObject({ availableBytes: z.number().optional(), capacityBytes: z.number().optional() }).optional();
export const StatsSummarySchema = z.looseObject({
  node: z.looseObject({ nodeName: z.string(), fs: fsStats, runtime: z.looseObject({ imageFs: fsStats }).optional() }),
});
export type StatsSummary = z.infer<typeof StatsSummarySchema>;
