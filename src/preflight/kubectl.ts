// The thin edge between preflight and the cluster: run kubectl, parse its JSON with the schemas in
// documents.ts, tell "not found" apart from "could not ask". Everything that decides lives in
// checks.ts. kubectl reads KUBECONFIG, never KUBE_CONFIG_PATH (the terraform providers' variable), so
// when neither --kubeconfig nor KUBECONFIG is given, KUBE_CONFIG_PATH is used: preflight then asks the
// cluster the stacks deploy to.
import { execa } from "execa";
import type { z } from "zod";
import type { KubeAccess } from "../plan/post-deploy.ts";

export type KubectlAnswer<T> = { ok: true; doc: T } | { ok: false; notFound: boolean; message: string };

export interface Kubectl {
  /** `kubectl get <args> -o json`, or `kubectl get --raw <path>` when args[0] is "--raw". */
  get<T>(args: string[], schema: z.ZodType<T>): Promise<KubectlAnswer<T>>;
}

/** kubectl's global flags for the given access, applying the KUBE_CONFIG_PATH fallback. */
export function kubectlGlobalFlags(kube: KubeAccess, env: Readonly<Record<string, string | undefined>>): string[] {
  const config = kube.configPath ?? (env.KUBECONFIG ? undefined : env.KUBE_CONFIG_PATH);
  return [...(config ? ["--kubeconfig", config] : []), ...(kube.context ? ["--context", kube.context] : [])];
}

export function kubectl(kube: KubeAccess, env: Readonly<Record<string, string | undefined>> = process.env, timeoutMs = 20_000): Kubectl {
  const global = kubectlGlobalFlags(kube, env);
  return {
    async get<T>(args: string[], schema: z.ZodType<T>): Promise<KubectlAnswer<T>> {
      const raw = args[0] === "--raw";
      const r = await execa("kubectl", [...global, "get", ...args, ...(raw ? [] : ["-o", "json"]), "--request-timeout=15s"], { reject: false, timeout: timeoutMs, env: { ...env } as Record<string, string> });
      if (r.failed) {
        const stderr = String(r.stderr ?? "").trim();
        const code = (r as { code?: string }).code;
        const message = code === "ENOENT" ? "kubectl is not on PATH" : r.timedOut ? `kubectl get ${args.join(" ")} timed out` : lastLine(stderr) || `kubectl exited ${r.exitCode}`;
        return { ok: false, notFound: /\bNotFound\b|not found/.test(stderr) && code !== "ENOENT", message };
      }
      let json: unknown;
      try {
        json = JSON.parse(String(r.stdout));
      } catch {
        return { ok: false, notFound: false, message: `kubectl get ${args.join(" ")} did not print JSON` };
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) return { ok: false, notFound: false, message: `unexpected answer to kubectl get ${args.join(" ")}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}` };
      return { ok: true, doc: parsed.data };
    },
  };
}

function lastLine(s: string): string {
  return s.split("\n").filter(Boolean).at(-1) ?? "";
}
