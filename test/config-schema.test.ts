import { describe, expect, it } from "vitest";
import { DTYPES, dtypeInfo } from "../src/dtype.ts";
import type { MessageDescriptor } from "../src/config/descriptor.ts";
import { DATA_TYPE, ENSEMBLE_STEP, MODEL_CONFIG, MODEL_INPUT, MODEL_OUTPUT } from "../src/config/model-config-schema.ts";
import { tritonDataType } from "../src/config/index.ts";

function allMessages(root: MessageDescriptor, seen = new Set<MessageDescriptor>()): Set<MessageDescriptor> {
  seen.add(root);
  for (const f of root.fields) {
    const t = f.type.kind === "map" ? f.type.value : f.type;
    if (t.kind === "message" && !seen.has(t.message)) allMessages(t.message, seen);
  }
  return seen;
}

describe("the model_config.proto subset", () => {
  it.each([...allMessages(MODEL_CONFIG)].map((m) => [m.name, m] as const))("%s has unique field names and numbers", (_, m) => {
    expect(new Set(m.fields.map((f) => f.name)).size).toBe(m.fields.length);
    expect(new Set(m.fields.map((f) => f.number)).size).toBe(m.fields.length);
  });

  it("keeps Triton's field numbers for the fields the repository writes", () => {
    const numbers = (m: MessageDescriptor) => Object.fromEntries(m.fields.map((f) => [f.name, f.number]));
    expect(numbers(MODEL_CONFIG)).toMatchObject({ name: 1, platform: 2, version_policy: 3, max_batch_size: 4, input: 5, output: 6, instance_group: 7, default_model_filename: 8, dynamic_batching: 11, optimization: 12, parameters: 14, ensemble_scheduling: 15, model_warmup: 16, backend: 17, response_cache: 24 });
    expect(numbers(MODEL_INPUT)).toMatchObject({ name: 1, data_type: 2, format: 3, dims: 4, reshape: 5, is_shape_tensor: 6, optional: 8 });
    expect(numbers(MODEL_OUTPUT)).toMatchObject({ name: 1, data_type: 2, dims: 3, label_filename: 4, reshape: 5 });
    expect(numbers(ENSEMBLE_STEP)).toMatchObject({ model_name: 1, model_version: 2, input_map: 3, output_map: 4 });
  });

  it("takes DataType from the one dtype table", () => {
    expect(DATA_TYPE.values[0]).toEqual(["TYPE_INVALID", 0]);
    for (const d of DTYPES) {
      expect(DATA_TYPE.values).toContainEqual([dtypeInfo(d).triton, dtypeInfo(d).tritonNumber]);
      expect(tritonDataType(d)).toBe(dtypeInfo(d).triton);
    }
    expect(tritonDataType("BYTES")).toBe("TYPE_STRING");
  });
});
