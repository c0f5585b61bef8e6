/**
 * Markdown bodies for a person at a terminal: headings, emphasis, code and lists styled, the
 * markup that styling replaces removed. Without colour (a pipe, NO_COLOR) the Markdown is
 * returned as written: it is readable as it is, and what a pipe reader would want to copy.
 */
import { bold, colorEnabled, cyan, dim, italic } from './format.js';

const FENCE = /^\s*(```|~~~)/;

/**
 * Code spans and links are set aside first: their text is literal (no emphasis inside code or a
 * URL), and the escape codes that style them must not be read as Markdown by the later passes.
 */
function inline(line: string): string {
  const kept: string[] = [];
  const keep = (styled: string) => `\u0000${kept.push(styled) - 1}\u0000`;
  return line
    .replace(/`([^`]+)`/g, (_, code: string) => keep(cyan(code)))
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, text: string, url: string) => `${text} ${keep(dim(`<${url}>`))}`)
    .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a: string, b: string) => bold(a ?? b))
    .replace(/(^|[\s(])[*_]([^*_\s][^*_]*?)[*_](?=[\s).,;:!?]|$)/g, (_, pre: string, t: string) => `${pre}${italic(t)}`)
    .replace(/\u0000(\d+)\u0000/g, (_, i: string) => kept[Number(i)]);
}

export function renderMarkdown(md: string): string {
  if (!colorEnabled()) return md;
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of md.split('\n')) {
    const open = FENCE.exec(line);
    if (open && (fence === null || open[1] === fence)) {
      fence = fence === null ? open[1] : null;
      continue;
    }
    if (fence !== null) {
      out.push(dim(`    ${line}`));
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push(dim('─'.repeat(20)));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      // Bold at every level, the text as written: upper-casing the top levels changed the text
      // itself (`ß` read `SS`, `ﬁ` `FI`, a heading `iOS` `IOS`), which no style may do.
      out.push(bold(heading[2]));
      continue;
    }
    const item = /^(\s*)[-*+]\s+(.*)$/.exec(line);
    if (item) {
      out.push(`${item[1]}• ${inline(item[2])}`);
      continue;
    }
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      out.push(`${dim('│')} ${italic(inline(quote[1]))}`);
      continue;
    }
    out.push(inline(line));
  }
  return out.join('\n');
}
