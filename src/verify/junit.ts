// The report as JUnit XML for CI: one <testsuite> per step, one <testcase> per check (model,
// resolution, probe); failures and skips carry their message. Text is escaped for XML, and
// characters XML 1.0 cannot hold are replaced, so any server message yields a well-formed file.
import type { Check, StepReport, VerifyReport } from "./report.ts";

/** Escapes text for element content and attribute values; drops characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const attr = (name: string, value: string | number) => ` ${name}="${xmlEscape(String(value))}"`;

function testcase(step: StepReport, c: Check): string {
  const head = `    <testcase${attr("classname", `verify-ready.${step.index}-${step.name}`)}${attr("name", c.name)}${attr("time", seconds(c.durationMs))}`;
  if (c.status === "pass") return `${head}/>`;
  const message = c.message ?? (c.status === "fail" ? "failed" : "skipped");
  const firstLine = message.split("\n")[0]!;
  const body = c.status === "fail"
    ? `      <failure${attr("message", firstLine)}${attr("type", step.name)}>${xmlEscape(message)}</failure>`
    : `      <skipped${attr("message", firstLine)}/>`;
  return `${head}>\n${body}\n    </testcase>`;
}

export function junitXml(report: VerifyReport): string {
  const count = (s: StepReport, st: Check["status"]) => s.checks.filter((c) => c.status === st).length;
  const total = (st?: Check["status"]) => report.steps.reduce((n, s) => n + (st ? count(s, st) : s.checks.length), 0);
  const suites = report.steps.map((s) => {
    const head = `  <testsuite${attr("name", `${s.index} ${s.name}: ${s.title}`)}${attr("tests", s.checks.length)}${attr("failures", count(s, "fail"))}${attr("errors", 0)}${attr("skipped", count(s, "skip"))}${attr("time", seconds(s.durationMs))}`;
    if (s.checks.length === 0) return `${head}/>`;
    return `${head}>\n${s.checks.map((c) => testcase(s, c)).join("\n")}\n  </testsuite>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attr("name", `verify-ready ${report.profile} ${report.url}`)}${attr("tests", total())}${attr("failures", total("fail"))}${attr("errors", 0)}${attr("skipped", total("skip"))}${attr("time", seconds(report.durationMs))}${attr("timestamp", report.startedAt)}>`,
    ...suites,
    "</testsuites>",
    "",
  ].join("\n");
}
