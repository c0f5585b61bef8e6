/** Human output helpers: colour only on a TTY (and never with NO_COLOR), aligned columns, short ids. */
const useColor = (stream: NodeJS.WriteStream): boolean =>
  Boolean(stream.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';

const paint =
  (code: number) =>
  (s: string, stream: NodeJS.WriteStream = process.stdout): string =>
    useColor(stream) ? `\u001b[${code}m${s}\u001b[0m` : s;

export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

export const SHORT_ID = 8;
export const short = (id: string): string => id.slice(0, SHORT_ID);

export function relativeTime(ts: number, now = Date.now()): string {
  const s = Math.round((now - ts) / 1000);
  if (s < 45) return 'just now';
  const units: [number, string][] = [
    [60, 'm'],
    [3600, 'h'],
    [86400, 'd'],
    [86400 * 30, 'mo'],
    [86400 * 365, 'y'],
  ];
  let label = `${Math.round(s / 60)}m`;
  for (const [size, unit] of units) if (s >= size) label = `${Math.floor(s / size)}${unit}`;
  return `${label} ago`;
}

const visibleLength = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => visibleLength(r[c] ?? ''))));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c] - visibleLength(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
