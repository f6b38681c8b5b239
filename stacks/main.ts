// cdktf entry point (cdktf.json "app"): build both stacks and synthesize. Bad inputs print the
// UserError (variable, value, what is expected) without a stack trace and exit 2.
import { isUserError } from "../src/errors.ts";
import { buildApp } from "./app.ts";

try {
  // Warnings travel as cdktf annotations: `cdktf synth` prints them once, after synthesis.
  const { app } = await buildApp();
  app.synth();
} catch (e) {
  if (!isUserError(e)) throw e;
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(e.exitCode);
}
