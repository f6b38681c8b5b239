// The frame of every HTML report: one self-contained file (inline CSS and SVG, no script, no CDN),
// sections of headings, tables and charts, so it opens from disk and can be attached to a ticket.
import { escapeXml } from "./svg.ts";

export interface HtmlSection {
  title: string;
  /** Paragraphs of plain text (escaped). */
  notes?: string[];
  table?: { head: string[]; rows: (string | number)[][] };
  /** SVG charts, already rendered. */
  charts?: string[];
}

export function htmlReport(title: string, subtitle: string, sections: readonly HtmlSection[]): string {
  const body = sections.map(section).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin-bottom: 4px; }
h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
.chart { margin: 10px 0; }
.miss { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<p class="sub">${escapeXml(subtitle)}</p>
${body}
</body>
</html>
`;
}

function section(s: HtmlSection): string {
  const out = [`<h2>${escapeXml(s.title)}</h2>`];
  for (const n of s.notes ?? []) out.push(`<p>${escapeXml(n)}</p>`);
  if (s.table) {
    out.push("<table>", `<tr>${s.table.head.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr>`);
    for (const r of s.table.rows) out.push(`<tr>${r.map((c) => `<td${/MISS|error/.test(String(c)) ? ' class="miss"' : ""}>${escapeXml(String(c))}</td>`).join("")}</tr>`);
    out.push("</table>");
  }
  for (const c of s.charts ?? []) out.push(`<div class="chart">${c}</div>`);
  return out.join("\n");
}
