/**
 * How many cells a terminal draws text in: what lines up table columns and cuts a title to fit.
 * Each character is measured with the one before it, so that a sequence drawn as one glyph
 * counts once, as terminals that draw emoji sequences do and as wcwidth and string-width count:
 * - an emoji takes two: a character drawn as emoji by default, or made one by U+FE0F; what joins
 *   it takes none (a skin tone, the rest of a ZWJ sequence such as 👩‍💻, a flag's second letter
 *   or its tags, a keycap's ring);
 * - East Asian Wide and Fullwidth characters (CJK ideographs, kana, Hangul, fullwidth forms) two;
 * - combining marks, format characters (zero-width space and joiner, a BOM), Hangul vowel and
 *   final jamo: none;
 * - everything else one, East Asian Ambiguous characters included (U+FFFD, ①, ±, box drawing):
 *   terminals draw them narrow unless set to a CJK legacy width, which grit cannot see.
 * (Intl.Segmenter's grapheme clusters give the same counts, at ten times the cost.)
 */

/**
 * East Asian Wide and Fullwidth characters that are not emoji (Unicode 17's EastAsianWidth.txt,
 * ranges joined over unassigned code points): the emoji are `\p{Emoji_Presentation}`.
 */
const WIDE =
  /[\u1100-\u115f\u2329\u232a\u2630-\u2637\u268a-\u268f\u2e80-\u3029\u3030-\u303e\u3041-\u3096\u309b-\u3163\u3165-\u3247\u3250-\ua4c6\ua960-\ua97c\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6b\uff01-\uff60\uffe0-\uffe6\u{16fe0}-\u{16fe3}\u{16ff2}-\u{1b2fb}\u{1d300}-\u{1d376}\u{1f200}-\u{1f265}\u{20000}-\u{3fffd}\p{Emoji_Presentation}]/u;
/**
 * Drawn in no cell of its own: marks, format characters, Hangul vowel and final jamo and fillers,
 * line and paragraph separators. Not the format characters that are drawn: the soft hyphen (as a
 * hyphen) and the prepended marks (Arabic number signs).
 */
const ZERO =
  /(?![\u00ad\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u{110bd}\u{110cd}])[\p{M}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff\u2028\u2029\u3164\uffa0]/u;
const EMOJI = /\p{Emoji}/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const REGIONAL = /\p{Regional_Indicator}/u;
const MODIFIER = /\p{Emoji_Modifier}/u;
const MODIFIED = /\p{Emoji_Modifier_Base}/u;
const ZWJ = '\u200d';
const VS16 = '\ufe0f';

/**
 * Kana, CJK Unified Ideographs and Hangul syllables: Wide, and none of them an emoji, a mark, a
 * format character or a part of a sequence, so each takes two cells whatever is around it. Told
 * by code, not by the tests below, which cost ~0.3 µs a character (each of a CJK title's).
 */
export const isCommonWide = (code: number): boolean =>
  (code >= 0x4e00 && code <= 0x9fff) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0x3041 && code <= 0x3096) || (code >= 0x30a1 && code <= 0x30fa);

/**
 * A measure of text read one character at a time: each call gives the cells that character adds,
 * given those before it.
 */
export function cellCounter(): (char: string) => number {
  let prev = '';
  let prevCells = 0;
  let inEmoji = false; // after a pictograph, through what joins it: a ZWJ there joins the next one
  let flagOpen = false; // after a flag's first letter
  return (char) => {
    let cells = 1;
    const code = char.charCodeAt(0);
    if (code < 0x300 || isCommonWide(code)) {
      if (code >= 0x300) cells = 2;
      inEmoji = flagOpen = false;
    } else {
      const regional = REGIONAL.test(char);
      if (char === VS16) cells = prevCells === 1 && EMOJI.test(prev) ? 1 : 0;
      else if (prev === ZWJ && inEmoji && PICTOGRAPH.test(char)) cells = 0;
      else if (MODIFIER.test(char) && MODIFIED.test(prev)) cells = 0;
      else if (regional) cells = flagOpen ? 0 : 2;
      else cells = ZERO.test(char) ? 0 : WIDE.test(char) ? 2 : 1;
      inEmoji = (inEmoji && cells === 0) || (char === VS16 && cells === 1) || PICTOGRAPH.test(char);
      flagOpen = regional && !flagOpen;
    }
    prev = char;
    prevCells = cells;
    return cells;
  };
}

/** Below U+0300 every character takes one cell: most text is measured by its length. */
const ONE_CELL_EACH = /^[\u0000-\u02ff]*$/;

/** The cells plain text (no colour codes) takes. */
export function cells(text: string): number {
  if (ONE_CELL_EACH.test(text)) return text.length;
  const count = cellCounter();
  let n = 0;
  for (const char of text) n += count(char);
  return n;
}
