// npm run verify-ready: the gate (design.md §8) against any KServe-v2 server — Triton or serve-local.
// Exit 0 only when every required model is READY and passes metadata, smoke and e2e; 1 on a failed
// check; 2 on bad usage.
import { UserError } from "../src/errors.ts";
import { command, HEADER_FLAG, headerFlag, runCli, serverHeaders } from "../src/cli.ts";
import { DEFAULT_RESOLUTIONS, parseResolution } from "../src/pipeline/frame.ts";
import { HttpKServeServer } from "../src/verify/http.ts";
import { verifyReady } from "../src/verify/run.ts";
import { parseAcceptedConstant } from "../src/verify/constant.ts";
import { ACCEPT_CONSTANT_FLAG } from "../src/verify/smoke.ts";
import { formatReportTable } from "../src/verify/table.ts";

interface Flags {
  url: string;
  profile: string;
  specs: string;
  report?: string;
  junit?: string;
  timeout: string;
  onnxRoot?: string;
  resolutions: string;
  acceptConstantOutput: string[];
  quiet: boolean;
  header: Record<string, string>;
}

const program = command("verify-ready", "The readiness gate: health, repository vs plan, metadata vs specs, smoke and e2e inference, reports.")
  .option("--url <url>", "server base URL (env TRITON_HTTP_URL)", process.env.TRITON_HTTP_URL ?? "http://localhost:8000")
  .option(HEADER_FLAG.flags, HEADER_FLAG.description, headerFlag, {} as Record<string, string>)
  .option("--profile <name>", "GPU profile whose checklist and plan the server must match", "gpu-local")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--report <file.json>", "write the JSON report here")
  .option("--junit <file.xml>", "write a JUnit XML report here")
  .option("--timeout <seconds>", "budget for the whole run; every wait and request is bounded by what is left", "300")
  .option("--onnx-root <dir>", "ONNX root the repository was written from: fixture exports there are checked number for number")
  .option("--resolutions <list>", "comma-separated e2e resolutions: 240p … 2160p or WxH", DEFAULT_RESOLUTIONS.join(","))
  .option(
    `${ACCEPT_CONSTANT_FLAG} <list>`,
    "MODEL (an entry model or branch: all its outputs) or MODEL:OUTPUT that may be constant, or the same for different inputs, on purpose; comma-separated, repeatable. Step 4 fails a real model only when every output it judges is so",
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
  .option("--quiet", "no progress lines on stderr", false);

function usage(field: string, message: string, hint: string): never {
  throw new UserError({ field, message, hint }, 2);
}

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const timeoutS = Number(f.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) usage("--timeout", `'${f.timeout}' is not a positive number of seconds`, "e.g. --timeout 120");
  let url: URL;
  try {
    url = new URL(f.url);
  } catch {
    usage("--url", `'${f.url}' is not a URL`, "e.g. --url http://localhost:8000");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") usage("--url", `'${f.url}' is not http(s)`, "e.g. --url http://localhost:8000");
  const list = f.resolutions.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) usage("--resolutions", "no resolution given", `e.g. --resolutions ${DEFAULT_RESOLUTIONS.join(",")}`);
  const resolutions = list.map((r) => {
    try {
      return parseResolution(r);
    } catch (e) {
      return usage("--resolutions", (e as Error).message, `e.g. --resolutions ${DEFAULT_RESOLUTIONS.join(",")}`);
    }
  });

  try {
    parseAcceptedConstant(f.acceptConstantOutput); // step 4 reads the same list; a bad entry is bad usage before any request
  } catch (e) {
    usage(ACCEPT_CONSTANT_FLAG, (e as Error).message, `e.g. ${ACCEPT_CONSTANT_FLAG} midas_256 or ${ACCEPT_CONSTANT_FLAG} midas_256:OUTPUT__0 (comma-separated, or the flag repeated)`);
  }

  // The model-repository API may be restricted to a header (stacks/, post-deploy step): --header, or the environment.
  const server = new HttpKServeServer(f.url, { headers: serverHeaders(f.header) });
  const report = await verifyReady({
    server,
    specsDir: f.specs,
    profile: f.profile,
    resolutions,
    timeoutS,
    ...(f.onnxRoot ? { onnxRoot: f.onnxRoot } : {}),
    acceptConstantOutput: f.acceptConstantOutput,
    ...(f.report ? { reportFile: f.report } : {}),
    ...(f.junit ? { junitFile: f.junit } : {}),
    ...(f.quiet ? {} : { progress: (line: string) => process.stderr.write(`verify-ready: ${line}\n`) }),
  });
  process.stdout.write(`${formatReportTable(report)}\n`);
  const files = [f.report, f.junit].filter(Boolean);
  if (files.length > 0) process.stdout.write(`reports: ${files.join(", ")}\n`);
  return report.exitCode;
});
