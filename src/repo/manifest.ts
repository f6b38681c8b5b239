// manifest.json: what synth-repo wrote (each file's size and sha256), which models, and what it came
// from. It is also how the tool knows which files are its own: files not listed were made by someone
// else and are never deleted. Its content is deterministic so an unchanged repository rewrites nothing.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { displayPath, familySpecFiles } from "../spec/catalog.ts";
import { MANIFEST_FILE, type RepoOrigin } from "./files.ts";
import { sha256Of } from "./hash.ts";

export const ManifestFileSchema = z.object({ path: z.string(), size: z.number(), sha256: z.string(), model: z.string() });
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const ManifestSchema = z.object({
  tool: z.literal("triton-deploy"),
  manifestVersion: z.literal(1),
  origin: z.object({
    specs: z.record(z.string(), z.string()),
    profile: z.string().nullable(),
    preprocess: z.enum(["python", "onnx"]),
    branches: z.array(z.string()),
    plan: z.unknown().optional(),
  }),
  models: z.array(z.string()),
  dirs: z.array(z.string()),
  files: z.array(ManifestFileSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export function buildManifest(origin: RepoOrigin, models: string[], dirs: string[], files: ManifestFile[]): Manifest {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { tool: "triton-deploy", manifestVersion: 1, origin, models, dirs: [...dirs].sort(), files: sorted };
}

export function renderManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** The manifest of an existing repository; undefined when there is none (or it is not ours). */
export async function readManifest(repoDir: string): Promise<{ manifest: Manifest; text: string } | undefined> {
  let text: string;
  try {
    text = await readFile(join(repoDir, MANIFEST_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? { manifest: parsed.data, text } : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 of every family spec file, keyed by its display path: what manifest.json's origin.specs records. */
export async function specHashes(specsDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await familySpecFiles(specsDir)) out[displayPath(f)] = sha256Of(await readFile(f));
  return out;
}
