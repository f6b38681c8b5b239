// JSON Schema for editors, generated from the same zod schemas that validate the specs, so the
// completion an editor offers can never disagree with what the tool accepts.
import { z } from "zod";
import { FamilySchema } from "./schema.ts";

export function familyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(FamilySchema, { io: "input", unrepresentable: "any" }),
    title: "triton-deploy model family spec",
  };
}
