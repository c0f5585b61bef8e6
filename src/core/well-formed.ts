/**
 * Text that UTF-8 cannot hold: a JavaScript string with a lone UTF-16 surrogate, which a JSON
 * `\ud800` escape without its pair makes (JSON.parse accepts it). The event encoder would write
 * U+FFFD in its place while the store (cbor-x) keeps the surrogate itself, so the writer's store
 * would differ from its own WAL and from every other clone: such text is refused instead.
 */

// Node 20 has String.prototype.isWellFormed; the ES2022 lib grit compiles against does not declare it.
/// <reference lib="es2024.string" />

// With the u flag a surrogate pair is one code point, so only a lone surrogate is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/** The first lone surrogate of `s` (its code unit), or null when `s` is well formed. */
export function loneSurrogate(s: string): number | null {
  if (s.isWellFormed()) return null;
  return LONE_SURROGATE.exec(s)?.[0].charCodeAt(0) ?? null;
}

/** The first `end` code units of `s`, one fewer when the last would be half of a surrogate pair. */
export function sliceWhole(s: string, end: number): string {
  const last = s.charCodeAt(end - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}

/** `U+D83D`: how a message names a surrogate. */
export const codeUnitName = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/** What to do instead, for a message that refuses such text. */
export const WELL_FORMED_HINT = 'send text as UTF-8; in JSON, an escape \\ud800-\\udbff must be followed by its pair \\udc00-\\udfff';
