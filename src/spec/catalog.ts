// The catalog: every family spec in a directory, parsed, cross-checked and expanded into branches
// with their model names. Everything downstream (repository, plan, routing, verify) takes a Catalog.
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { UserError, type Problem } from "../errors.ts";
import { branchModelNames, branchModels, type BranchModelNames } from "../names.ts";
import { FamilySchema, type Branch, type Family } from "./schema.ts";
import { loadYamlFile, type FieldPath, type SourceMap } from "./yaml.ts";
import { checkBranch } from "./rules.ts";

export interface CatalogBranch {
  /** Family name, e.g. midas; the key of resolved_model_mapping. */
  family: string;
  component: string;
  /** Complexity variant: the branch's own, the family's default, or the family name. */
  variant: string;
  branch: Branch;
  models: BranchModelNames;
  /** Spec file and field path of this branch, for messages. */
  specFile: string;
  fieldPath: FieldPath;
}

export interface CatalogFamily {
  spec: Family;
  file: string;
  source: SourceMap;
}

export interface Catalog {
  families: CatalogFamily[];
  branches: CatalogBranch[];
}

/** Files in a spec directory that are family specs (profiles live in a subdirectory). */
export async function familySpecFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new UserError({ file: dir, message: `cannot read the spec directory: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: "pass --specs DIR with the model-specs directory" });
  }
  const files = names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n));
  if (files.length === 0) throw new UserError({ file: dir, message: "no *.yaml family specs found", hint: "pass --specs DIR with the model-specs directory" });
  return files;
}

export async function loadCatalog(dir: string): Promise<Catalog> {
  const families: CatalogFamily[] = [];
  const problems: Problem[] = [];
  for (const file of await familySpecFiles(dir)) {
    const shown = displayPath(file);
    try {
      const { value, source } = await loadYamlFile(file, FamilySchema, shown);
      families.push({ spec: value, file: shown, source });
    } catch (e) {
      if (e instanceof UserError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new UserError(problems);
  return buildCatalog(families);
}

/** Cross-file checks and expansion; pure, so tests can feed families built in code. */
export function buildCatalog(families: CatalogFamily[]): Catalog {
  const problems: Problem[] = [];
  const branches: CatalogBranch[] = [];
  const familyNames = new Map<string, string>();
  const modelOwners = new Map<string, { file: string; index: number; branch: string }>();

  for (const f of families) {
    const prior = familyNames.get(f.spec.family);
    if (prior) problems.push(f.source.problem(["family"], `duplicate family '${f.spec.family}' (also in ${prior})`, "give each family a unique name"));
    familyNames.set(f.spec.family, f.file);

    const variants = new Set(f.spec.branches.map((b) => b.variant ?? f.spec.defaultVariant ?? f.spec.family));
    if (variants.size > 1 && !f.spec.defaultVariant) {
      problems.push(f.source.problem(["defaultVariant"], `the family has variants ${[...variants].join(", ")} but no defaultVariant`, "add defaultVariant: <the variant routing should use>"));
    }
    if (f.spec.defaultVariant && !variants.has(f.spec.defaultVariant)) {
      problems.push(f.source.problem(["defaultVariant"], `defaultVariant '${f.spec.defaultVariant}' has no branch (variants: ${[...variants].join(", ")})`, "name a variant that has branches"));
    }

    f.spec.branches.forEach((b, i) => {
      const path: FieldPath = ["branches", i];
      problems.push(...checkBranch(b, path, f.source));
      const cb: CatalogBranch = {
        family: f.spec.family,
        component: f.spec.component,
        variant: b.variant ?? f.spec.defaultVariant ?? f.spec.family,
        branch: b,
        models: branchModelNames(b),
        specFile: f.file,
        fieldPath: path,
      };
      const clashes: string[] = [];
      for (const m of branchModels(b)) {
        const owner = modelOwners.get(m.name);
        if (!owner) modelOwners.set(m.name, { file: f.file, index: i, branch: b.name });
        else if (owner.file === f.file && owner.index === i) clashes.push(`'${m.name}' twice in this branch`);
        else clashes.push(`'${m.name}' is already used by branch '${owner.branch}' (${owner.file})`);
      }
      if (clashes.length > 0) {
        problems.push(f.source.problem([...path, "name"], `model name ${clashes.join("; ")}`, "rename the branch or set names.* so every model name is unique"));
      }
      branches.push(cb);
    });
  }
  if (problems.length > 0) throw new UserError(problems);
  return { families, branches };
}

export function readyBranches(c: Catalog): CatalogBranch[] {
  return c.branches.filter((b) => b.branch.status === "ready");
}

export function findBranch(c: Catalog, name: string): CatalogBranch | undefined {
  return c.branches.find((b) => b.branch.name === name);
}

/** The source map of the spec file a branch came from. */
export function branchSource(c: Catalog, cb: CatalogBranch): SourceMap | undefined {
  return c.families.find((f) => f.file === cb.specFile)?.source;
}

/** Paths in messages are relative to where the user stands, when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
