/**
 * Human output helpers: colour only on a TTY (and never with NO_COLOR), aligned columns fitted to
 * the terminal, short ids, relative times. Machine output (--json, --format ids) never uses them.
 */

/**
 * NO_COLOR (no-color.org: set and not empty) always wins; FORCE_COLOR (set, not empty, not 0)
 * colours a pipe, e.g. `FORCE_COLOR=1 grit issue list | less -R`, and FORCE_COLOR=0 turns colour
 * off on a terminal too, as Node and chalk read it; TERM=dumb has no colours.
 */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const env = process.env;
  if (env.NO_COLOR || env.FORCE_COLOR === '0') return false;
  if (env.FORCE_COLOR) return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

const paint =
  (code: number) =>
  (s: string, stream: NodeJS.WriteStream = process.stdout): string =>
    colorEnabled(stream) ? `\u001b[${code}m${s}\u001b[0m` : s;

export const bold = paint(1);
export const dim = paint(2);
export const italic = paint(3);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

export const SHORT_ID = 8;
export const short = (id: string): string => id.slice(0, SHORT_ID);

const UNITS: [number, string][] = [
  [60, 'm'],
  [3600, 'h'],
  [86400, 'd'],
  [86400 * 30, 'mo'],
  [86400 * 365, 'y'],
];

/** "just now", "5m ago", "3h ago", "2mo ago"; a time ahead reads "in 5m" (lock expiries). */
export function relativeTime(ts: number, now = Date.now()): string {
  const s = Math.round(Math.abs(now - ts) / 1000);
  if (s < 45) return 'just now';
  let label = '1m';
  for (const [size, unit] of UNITS) if (s >= size) label = `${Math.floor(s / size)}${unit}`;
  return ts > now ? `in ${label}` : `${label} ago`;
}

const ANSI = /\u001b\[[0-9;]*m/g;
/** Characters a terminal draws two cells wide (East Asian wide and fullwidth, most emoji). */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
/** Characters drawn in no cell of their own (combining marks, zero-width joiners and selectors). */
const ZERO_WIDTH = /[\p{M}\u200b-\u200f\ufe00-\ufe0f]/u;

const charWidth = (c: string): number => (ZERO_WIDTH.test(c) ? 0 : WIDE.test(c) ? 2 : 1);

/** Below U+0300 every character takes one cell: most text is measured by its length. */
const ONE_CELL_EACH = /^[\u0000-\u02ff]*$/;

/** The cells `s` takes on a terminal (colour codes take none). */
export function visibleLength(s: string): number {
  const plain = s.replace(ANSI, '');
  if (ONE_CELL_EACH.test(plain)) return plain.length;
  let n = 0;
  for (const c of plain) n += charWidth(c);
  return n;
}

/** The terminal's width when stdout is one; tables in pipes are never cut. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY && stream.columns ? stream.columns : undefined;
}

/** Cuts plain text to `width` cells, marking the cut with an ellipsis. */
export function truncate(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  let out = '';
  let used = 0;
  for (const c of s) {
    const w = charWidth(c);
    if (used + w > width - 1) break;
    out += c;
    used += w;
  }
  return `${out}…`;
}

export interface TableOptions {
  /**
   * Columns of plain (uncoloured) text that give way, are cut, when the rows are wider than
   * `width`: the first as far as it can go before the next.
   */
  shrink?: number[];
  width?: number;
}

const MIN_SHRUNK = 12;

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: string[][], opts: TableOptions = {}): string {
  if (rows.length === 0) return '';
  // A cell is one line of known width: a newline would split its row, and a tab's width
  // depends on where it falls, so a title with either would push its row out of line.
  rows = rows.map((r) => r.map((cell) => cell.replace(/[\t\n]/g, ' ')));
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => visibleLength(r[c] ?? ''))));
  const { shrink = [], width } = opts;
  let excess = width === undefined ? 0 : widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - width;
  for (const col of shrink) {
    if (excess <= 0) break;
    const target = Math.max(MIN_SHRUNK, widths[col] - excess);
    if (target >= widths[col]) continue;
    rows = rows.map((r) => r.map((cell, c) => (c === col && visibleLength(cell) > target ? truncate(cell, target) : cell)));
    excess -= widths[col] - target;
    widths[col] = target;
  }
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[c] - visibleLength(cell)))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
