/**
 * Human output helpers: colour only on a TTY (and never with NO_COLOR), aligned columns fitted to
 * the terminal, short ids, relative times. Machine output (--json, --format ids) never uses them.
 */
import { cellCounter, cells } from './cells.js';

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

type Style = (s: string) => string;
export interface Palette {
  bold: Style;
  dim: Style;
  italic: Style;
  red: Style;
  green: Style;
  yellow: Style;
  cyan: Style;
}

const sgr =
  (code: number): Style =>
  (s) =>
    `\u001b[${code}m${s}\u001b[0m`;
const PAINTED: Palette = { bold: sgr(1), dim: sgr(2), italic: sgr(3), red: sgr(31), green: sgr(32), yellow: sgr(33), cyan: sgr(36) };
const unstyled: Style = (s) => s;
const PLAIN: Palette = { bold: unstyled, dim: unstyled, italic: unstyled, red: unstyled, green: unstyled, yellow: unstyled, cyan: unstyled };

/**
 * The styles of output to `stream`, colour decided once. A renderer of many rows takes them once:
 * deciding again for each cell (reading the environment each time) was a third of drawing
 * `issue list` at 20k issues.
 */
export const palette = (stream: NodeJS.WriteStream = process.stdout): Palette => (colorEnabled(stream) ? PAINTED : PLAIN);

const paint =
  (style: keyof Palette) =>
  (s: string, stream: NodeJS.WriteStream = process.stdout): string =>
    palette(stream)[style](s);

export const bold = paint('bold');
export const dim = paint('dim');
export const italic = paint('italic');
export const red = paint('red');
export const green = paint('green');
export const yellow = paint('yellow');
export const cyan = paint('cyan');

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
  // The largest unit the time reaches (built once: a table calls this for each of its rows).
  let k = UNITS.length - 1;
  while (k >= 0 && s < UNITS[k][0]) k--;
  const label = k < 0 ? '1m' : `${Math.floor(s / UNITS[k][0])}${UNITS[k][1]}`;
  return ts > now ? `in ${label}` : `${label} ago`;
}

/** A moment as people read it in a listing: UTC, to the second (`2026-12-06T20:27:57Z`). */
export const moment = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const ANSI = /\u001b\[[0-9;]*m/g;

/** The cells `s` takes on a terminal (colour codes take none; cells.ts for the rest). */
export function visibleLength(s: string): number {
  return cells(s.includes('\u001b') ? s.replace(ANSI, '') : s);
}

/**
 * The width to fit human output to when stdout is a terminal: COLUMNS when set to a number (as
 * `ls` and most CLIs read it: a resized or scripted terminal, `COLUMNS=60 grit …`), else the
 * terminal's own. Never in a pipe: tables there are never cut.
 */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  if (!stream.isTTY) return undefined;
  const columns = Number(process.env.COLUMNS);
  if (Number.isInteger(columns) && columns > 0) return columns;
  return stream.columns || undefined;
}

const ANSI_PART = /(\u001b\[[0-9;]*m)/;

/** The longest start of `s` that takes at most `width` cells (colour codes kept), and whether it has any. */
function head(s: string, width: number): { text: string; styled: boolean } {
  let text = '';
  let used = 0;
  let styled = false;
  const count = cellCounter();
  for (const part of s.split(ANSI_PART)) {
    if (ANSI_PART.test(part)) {
      text += part;
      styled = true;
      continue;
    }
    for (const c of part) {
      const w = count(c);
      if (used + w > width) return { text, styled };
      text += c;
      used += w;
    }
  }
  return { text, styled };
}

/** Cuts text to `width` cells, marking the cut with an ellipsis; a coloured cell is reset after it. */
export function truncate(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  const { text, styled } = head(s, width - 1);
  return `${text}…${styled ? '\u001b[0m' : ''}`;
}

/**
 * Text in lines of at most `width` cells, broken at spaces; a longer word is split, after its last
 * `/` that fits where it has one: a path (`db stats`' store, doctor's findings) or a URL breaks
 * between its parts, not in the middle of a name (an actor id split across two lines).
 */
function wrap(s: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    const joined = line ? `${line} ${word}` : word;
    if (visibleLength(joined) <= width) {
      line = joined;
      continue;
    }
    if (line) out.push(line);
    line = word;
    while (visibleLength(line) > width) {
      const { text } = head(line, width);
      const slash = text.lastIndexOf('/');
      const piece = slash > 0 ? text.slice(0, slash + 1) : text;
      out.push(piece);
      line = line.slice(piece.length);
    }
  }
  out.push(line);
  return out;
}

export interface TableOptions {
  /**
   * Columns that give way, are cut, when the rows are wider than `width`: each in this order
   * down to MIN_SHRUNK cells, then, if that is not enough, each down to MIN_CUT.
   */
  shrink?: number[];
  /** Columns left out, in this order, while the rows would not fit with the `shrink` ones at MIN_SHRUNK. */
  drop?: number[];
  /** The last column, when it runs past `width`, goes on over indented lines (text a cut would lose). */
  wrap?: boolean;
  /** Cells to fit the rows to; by default the terminal's (none in a pipe, where nothing is cut). */
  width?: number;
}

const MIN_SHRUNK = 12;
/** Below this a cut cell says nothing; a table too narrow even then runs past the width. */
const MIN_CUT = 4;

/**
 * Text shown on one line (a table cell, `issue show`'s title): a newline would split it, and a
 * tab's width depends on where it falls. Titles are refused with either now, but one written by
 * an older grit, or another writer's, arrives by sync as it is.
 */
export const singleLine = (s: string): string => s.replace(/[\t\n]/g, ' ');

/**
 * Text that `singleLine` leaves as it is and that takes one cell a character (visibleLength): no
 * tab, newline or escape, nothing from U+0300 on (cells.ts). Most cells of a long table (ids,
 * states, times, ASCII and Latin titles) are such text, known by one test instead of a replace,
 * a search for colour codes and a measure.
 */
const PLAIN_CELL = /^[\u0000-\u0008\u000b-\u001a\u001c-\u02ff]*$/;
export const isPlainCell = (s: string): boolean => PLAIN_CELL.test(s);

/**
 * A table's cells, each on one line, and the cells each takes: `lengths[i * columns + c]` for
 * row i, column c (0 for a cell a short row lacks). A row is copied only when a cell of it
 * changes (`ownRow`), and the lengths are one array: a copy of each row and an array of lengths
 * for each were garbage that every row of a listing made, all of it alive until the end.
 */
interface Grid {
  rows: string[][];
  columns: number;
  lengths: Int32Array;
}

function measure(given: string[][], columns: number): Grid {
  const lengths = new Int32Array(given.length * columns);
  const rows = given.map((row, i) => {
    let shown = row;
    const kept = Math.min(row.length, columns);
    for (let c = 0; c < kept; c++) {
      const cell = row[c];
      if (isPlainCell(cell)) {
        lengths[i * columns + c] = cell.length;
        continue;
      }
      const line = singleLine(cell);
      if (line !== cell) (shown = ownRow(shown, row))[c] = line;
      lengths[i * columns + c] = visibleLength(line);
    }
    return shown;
  });
  return { rows, columns, lengths };
}

/** `row`, to change: a copy while it is still the caller's `given` one. */
const ownRow = (row: string[], given: string[]): string[] => (row === given ? [...row] : row);

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(given: string[][], opts: TableOptions = {}): string {
  if (given.length === 0) return '';
  // Each cell is measured once: at 20k issues measuring took most of `issue list`'s drawing.
  const grid = measure(given, given[0].length);
  const { rows, lengths, columns } = grid;
  const { shrink = [], drop = [], width = terminalWidth() } = opts;
  const natural = given[0].map((_, c) => widest(grid, c));
  const last = natural.length - 1;
  const squeezable = (c: number) => shrink.includes(c) || (opts.wrap === true && c === last);
  const narrowest = (cols: number[]) =>
    cols.reduce((sum, c) => sum + (squeezable(c) ? Math.min(natural[c], MIN_SHRUNK) : natural[c]), 2 * (cols.length - 1));
  let cols = natural.map((_, c) => c);
  if (width === undefined) return layout(grid, cols, pipeWidths(grid, natural, shrink));
  for (const col of drop) if (narrowest(cols) > width) cols = cols.filter((c) => c !== col);
  const widths = [...natural];
  let excess = cols.reduce((sum, c) => sum + widths[c], 2 * (cols.length - 1)) - width;
  for (const floor of [MIN_SHRUNK, MIN_CUT]) {
    for (const col of shrink) {
      if (excess <= 0 || !cols.includes(col)) continue;
      const target = Math.max(floor, widths[col] - excess);
      if (target >= widths[col]) continue;
      excess -= widths[col] - target;
      widths[col] = target;
    }
  }
  for (let i = 0; i < rows.length; i++) {
    for (const c of shrink) {
      const at = i * columns + c;
      if (!(c < columns && lengths[at] > widths[c])) continue;
      const cut = truncate(rows[i][c], widths[c]);
      (rows[i] = ownRow(rows[i], given[i]))[c] = cut;
      lengths[at] = visibleLength(cut);
    }
  }
  if (!opts.wrap || !cols.includes(last) || excess <= 0) return layout(grid, cols, widths);
  // Too little room beside the other columns: the text goes under its row, slightly indented.
  const beside = widths[last] - excess;
  return layout(grid, cols, widths, beside >= MIN_BESIDE ? { at: beside } : { at: Math.max(MIN_CUT, width - HANG), hang: true });
}

/** The most cells a `shrink` column is padded to in a pipe (pipeWidths). */
const MAX_PIPE_PAD = 80;

/**
 * Column widths in a pipe, where nothing is cut: each column's longest cell, except that a text
 * (`shrink`) cell longer than MAX_PIPE_PAD is left out of its column's width. Such a cell (one
 * title of 100,000 characters) runs on past its column, pushing the rest of its own row only:
 * padded to, it made every line of `grit issue list | grep …` as long.
 */
function pipeWidths(grid: Grid, natural: number[], shrink: number[]): number[] {
  return natural.map((w, c) => {
    if (w <= MAX_PIPE_PAD || !shrink.includes(c)) return w;
    return widest(grid, c, MAX_PIPE_PAD);
  });
}

/**
 * The longest cell of column `c` (of those no longer than `limit`). A loop, not `Math.max(...)`:
 * spread into arguments, a table of 200k rows overflowed the stack.
 */
function widest({ lengths, columns }: Grid, c: number, limit = Infinity): number {
  let most = 0;
  for (let at = c; at < lengths.length; at += columns) {
    const n = lengths[at];
    if (n > most && n <= limit) most = n;
  }
  return most;
}

/** Narrower than this, a wrapped last column goes under its row. */
const MIN_BESIDE = 24;
const HANG = 4;

/**
 * The kept columns of each row, padded to `widths`; the last one wrapped if asked (see `wrap`).
 * A line stops at its last cell with text (what would follow is spaces, trimmed off) and is
 * trimmed only when that cell could end in white space: a trim flattens the line, which the
 * final join then copies once more.
 */
function layout({ rows, lengths, columns }: Grid, cols: number[], widths: number[], wrapping?: { at: number; hang?: boolean }): string {
  const before = cols.slice(0, -1).reduce((sum, c) => sum + widths[c] + 2, 0);
  const indent = ' '.repeat(wrapping?.hang ? HANG : before);
  const padded = cols.slice(0, -1);
  const lastCol = cols[cols.length - 1];
  const lines: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const tail = wrapping ? wrap(r[lastCol] ?? '', wrapping.at) : [r[lastCol] ?? ''];
    let end = wrapping?.hang ? '' : tail.shift()!;
    let count = padded.length;
    if (end === '') {
      while (count > 0 && !r[padded[count - 1]]) count--;
      if (count > 0) end = r[padded[--count]];
    }
    let line = '';
    for (let k = 0; k < count; k++) {
      const c = padded[k];
      line += (r[c] ?? '') + spaces(Math.max(0, widths[c] - lengths[i * columns + c]) + 2);
    }
    line += end;
    lines.push(endsBare(end) ? line : line.trimEnd());
    for (const l of tail) lines.push(indent + l);
  }
  return lines.join('\n');
}

const SPACE = /\s/;
/** Whether text ends in something other than white space (as `trimEnd` reads it). */
const endsBare = (s: string): boolean => s.length > 0 && !SPACE.test(s[s.length - 1]);

/** The runs of spaces that pad cells, each made once. */
const SPACES: string[] = [];
const spaces = (n: number): string => (n < 256 ? (SPACES[n] ??= ' '.repeat(n)) : ' '.repeat(n));
