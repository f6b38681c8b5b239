// synth-repo --profile: the repository holds only the branches the profile's VRAM plan selects, and
// manifest.json records the load list and what was left out (and why), so a repository on disk says
// which plan it was written for.
import { loadMeasured } from "../plan/measured.ts";
import { planDeployment } from "../plan/plan.ts";
import { selectedBranches } from "../plan/load.ts";
import type { Catalog } from "../spec/catalog.ts";
import { loadProfile } from "../spec/profile.ts";
import type { Selection } from "./synth.ts";

export function profileSelection(specsDir: string, profileName: string, measuredFile?: string): (catalog: Catalog) => Promise<Selection> {
  return async (catalog) => {
    const profile = await loadProfile(specsDir, profileName);
    const measured = measuredFile ? await loadMeasured(measuredFile) : undefined;
    const plan = planDeployment(catalog, profile, measured ? { measured } : {});
    return {
      branches: selectedBranches(catalog, plan),
      profile: plan.profile.name,
      settings: { policy: plan.onnxRuntime.policy, cudnnConvAlgoSearch: plan.onnxRuntime.cudnnConvAlgoSearch, tensorrt: plan.onnxRuntime.tensorrt },
      plan: {
        budgetMiB: plan.budgetMiB,
        onnxRuntime: plan.onnxRuntime,
        loadModels: plan.loadModels,
        excluded: plan.excluded.map((e) => ({ branch: e.branch, reason: e.reason })),
      },
    };
  };
}
