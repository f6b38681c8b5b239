// A manifest.json as synth-repo writes it (src/repo/manifest.ts), for a plan's load list: enough for
// the stacks and preflight to read, without writing a whole repository.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildManifest, renderManifest, type Manifest } from "../../src/repo/manifest.ts";

export function writeManifest(dir: string, o: { profile: string | null; loadModels: string[]; preprocess?: "python" | "onnx"; specs?: Record<string, string> }): { manifest: Manifest; text: string } {
  const manifest = buildManifest(
    { specs: o.specs ?? {}, profile: o.profile, preprocess: o.preprocess ?? "python", branches: [], plan: { loadModels: o.loadModels } },
    o.loadModels,
    [],
    o.loadModels.map((m) => ({ path: `${m}/config.pbtxt`, size: 10, sha256: "0".repeat(64), model: m })),
  );
  const text = renderManifest(manifest);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "manifest.json"), text);
  return { manifest, text };
}
