// A shipped profile with some fields changed, planned as the stacks plan it: for tests of what a
// profile setting does to the deployment model and the synthesized stacks.
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { loadCatalog } from "../../src/spec/catalog.ts";
import { parseProfile, type LoadedProfile } from "../../src/spec/profile.ts";
import { planDeployment, type Plan } from "../../src/plan/plan.ts";

export async function profileVariant(base: string, changes: [path: (string | number)[], value: unknown][]): Promise<{ plan: Plan; profile: LoadedProfile }> {
  const file = `model-specs/profiles/${base}.yaml`;
  const doc = parseDocument(readFileSync(file, "utf8"));
  for (const [path, value] of changes) {
    if (value === undefined) doc.deleteIn(path);
    else doc.setIn(path, doc.createNode(value));
  }
  const profile = parseProfile(String(doc), file);
  return { profile, plan: planDeployment(await loadCatalog("model-specs"), profile) };
}
