// JSON Schemas for editors, generated from the same zod schemas that validate the specs, so the
// completion an editor offers can never disagree with what the tool accepts. The files live in
// model-specs/schema/ (referenced by each YAML's yaml-language-server comment); a test keeps the
// committed files equal to what this module generates.
import { z } from "zod";
import { ProfileSchema } from "./profile.ts";
import { FamilySchema } from "./schema.ts";

export const SCHEMA_FILES = {
  "family.schema.json": () => schemaOf(FamilySchema, "triton-deploy model family spec (model-specs/*.yaml)"),
  "profile.schema.json": () => schemaOf(ProfileSchema, "triton-deploy GPU profile (model-specs/profiles/*.yaml)"),
} as const;

function schemaOf(schema: z.ZodType, title: string): Record<string, unknown> {
  return { ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }), title };
}

export function renderSchemaFile(name: keyof typeof SCHEMA_FILES): string {
  return `${JSON.stringify(SCHEMA_FILES[name](), null, 2)}\n`;
}
