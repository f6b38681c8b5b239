// Which branches a video runs on: the routing table over the catalog, with "deployed" meaning every
// model of the branch is READY on the server (so the same run works against Triton with any plan,
// or serve-local over any repository), then route() by the video's resolution (design.md §7).
// A video smaller than a family's smallest branch would have to be upscaled: refused, with names.
import { UserError } from "../errors.ts";
import { branchModels } from "../names.ts";
import { route, type RouteResult } from "../routing/route.ts";
import { buildRoutingTable } from "../routing/table.ts";
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";

export interface VideoRoute {
  route: RouteResult;
  branches: CatalogBranch[];
}

/** Branches whose models (entry and steps) are all READY on the server. */
export function deployedBranches(catalog: Catalog, ready: ReadonlySet<string>): Set<string> {
  return new Set(catalog.branches.filter((cb) => cb.branch.status === "ready" && branchModels(cb.branch).every((m) => ready.has(m.name))).map((cb) => cb.branch.name));
}

/**
 * Routes a `width × height` video. `only` limits the run to some families or components (by either
 * name); by default every family with a deployed branch runs.
 */
export function routeVideo(catalog: Catalog, ready: ReadonlySet<string>, width: number, height: number, only?: readonly string[]): VideoRoute {
  const deployed = deployedBranches(catalog, ready);
  const table = buildRoutingTable(catalog, deployed);
  let families = table.families.filter((f) => f.branches.some((b) => b.deployed));
  if (only && only.length > 0) {
    const known = new Set(table.families.flatMap((f) => [f.family, f.component]));
    const unknown = only.filter((n) => !known.has(n));
    if (unknown.length > 0) throw new UserError({ field: "--components", message: `unknown component or family ${unknown.map((n) => `'${n}'`).join(", ")}`, hint: `use family names (${table.families.map((f) => f.family).join(", ")}) or components (${[...new Set(table.families.map((f) => f.component))].join(", ")})` }, 2);
    const undeployed = table.families.filter((f) => (only.includes(f.family) || only.includes(f.component)) && !families.includes(f));
    if (undeployed.length > 0) throw new UserError({ field: "--components", message: `no branch of ${undeployed.map((f) => f.family).join(", ")} is READY on the server`, hint: "load its models, or leave it out" }, 1);
    families = families.filter((f) => only.includes(f.family) || only.includes(f.component));
  }
  if (families.length === 0) throw new UserError({ message: "no catalog branch is READY on the server: nothing to run", hint: "check the server's repository (POST /v2/repository/index) against model-specs/" }, 1);

  const metric = Math.max(width, height);
  const tooSmall = families.flatMap((f) => {
    const sizes = f.branches.filter((b) => b.variant === f.defaultVariant).map((b) => b.size);
    const smallest = Math.min(...sizes);
    // Text families take token ids, not frames: their "size" is a context length.
    const takesFrames = catalog.branches.some((cb) => cb.family === f.family && cb.branch.contract?.inputs[0]?.dtype !== "INT64" && cb.branch.onnx.inputs[0]?.dtype !== "INT64");
    return takesFrames && metric < smallest ? [`${f.family} (smallest branch ${smallest} px)`] : [];
  });
  if (tooSmall.length > 0) {
    throw new UserError({
      field: "--video",
      message: `the video is ${width}×${height}: its longer side ${metric} px is below the smallest branch of ${tooSmall.join(", ")}; the pipeline never upscales`,
      hint: "use a larger video, or leave those families out with --components",
    }, 2);
  }
  const result = route(table, { width, height }, { families: families.map((f) => f.family) });
  const branches = result.decisions.map((d) => catalog.branches.find((cb) => cb.branch.name === d.branch)!);
  return { route: result, branches };
}
