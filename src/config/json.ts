// A config as JSON the way Triton prints it for `GET /v2/models/{m}/config`, so the local server and
// the gate speak the same dialect as the real server.
//
// How Triton prints it (triton-inference-server/core src/model_config_utils.cc, ModelConfigToJson):
// protobuf's MessageToJsonString with preserve_proto_field_names (snake_case keys, as in the .proto)
// and always_print_primitive_fields, so
//   - every scalar and enum field appears, set or not, with its default ("", 0, false, the first enum
//     identifier such as "FORMAT_NONE"); enums as identifier strings;
//   - every repeated field appears, `[]` when empty; every map appears, `{}` when empty;
//   - message fields appear only when set; members of a oneof only when set;
//   - keys in .proto declaration order (e.g. instance_group: name, kind, count, gpus, …).
// Protobuf's JSON writes 64-bit integers as strings, but Triton rewrites every int64/uint64 field of
// ModelConfig back to a JSON number (dims, reshape.shape, version_policy.specific.versions,
// step.model_version, dynamic_batching delays, warm-up dims, …), so all integers here are numbers.
// Not reproduced: Triton fills in server-side defaults when it loads a model (version_policy, instance
// group names and counts, optimization, default_model_filename); this prints the config as given.
// Triton also answers an empty body for an all-default config; we always return an object.

import { defaultOf, isPlainObject, type FieldDescriptor, type MessageDescriptor, type ValueType } from "./descriptor.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function toTritonJson(schema: MessageDescriptor, value: object): JsonObject {
  const v = value as Record<string, unknown>;
  const out: JsonObject = {};
  for (const f of schema.fields) {
    const j = fieldJson(f, v[f.name]);
    if (j !== undefined) out[f.name] = j;
  }
  return out;
}

function fieldJson(f: FieldDescriptor, x: unknown): JsonValue | undefined {
  const t = f.type;
  switch (t.kind) {
    case "unsupported":
      return t.jsonDefault === "[]" ? [] : t.jsonDefault === "{}" ? {} : undefined;
    case "map": {
      const out: JsonObject = {};
      if (isPlainObject(x)) for (const k of Object.keys(x).sort()) Object.defineProperty(out, k, { value: valueJson(t.value, x[k]), enumerable: true, writable: true, configurable: true });
      return out;
    }
    default:
      if (f.repeated) return Array.isArray(x) ? x.map((e) => valueJson(t, e)) : [];
      if (x === undefined) return t.kind === "message" || f.oneof ? undefined : valueJson(t, undefined);
      return valueJson(t, x);
  }
}

function valueJson(t: ValueType, x: unknown): JsonValue {
  if (t.kind === "message") return toTritonJson(t.message, isPlainObject(x) ? x : {});
  const v = x ?? defaultOf(t);
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : null;
}
