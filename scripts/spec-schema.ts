// npm run spec-schema: regenerate model-specs/schema/*.json from the zod schemas (for editors).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { command, runCli } from "../src/cli.ts";
import { renderSchemaFile, SCHEMA_FILES } from "../src/spec/json-schema.ts";

const program = command("spec-schema", "Write the JSON Schemas of model specs and GPU profiles for editors.").option("--out <dir>", "where to write them", "model-specs/schema");

await runCli(async () => {
  program.parse();
  const { out } = program.opts<{ out: string }>();
  await mkdir(out, { recursive: true });
  for (const name of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    await writeFile(join(out, name), renderSchemaFile(name));
    console.log(`wrote ${join(out, name)}`);
  }
});
