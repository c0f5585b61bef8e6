/**
 * Text that reaches a terminal from the WAL (titles, bodies, labels, comments: anyone's who
 * syncs with you), in human output or a Markdown export, has its control characters shown, not
 * obeyed: an escape sequence could clear the screen, retitle the window, forge output or hide a
 * link. Tabs and newlines stay, as do grit's own colours (added after this, by the renderers);
 * bidirectional overrides are shown too, so that text reads in the order it is stored. A CRLF
 * (text from a Windows editor or a web form) is a line break like any other and is shown as
 * one; only a CR on its own could overwrite a line, so that one is shown.
 */
const UNSAFE_CHAR = '[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]';
const UNSAFE = new RegExp(`\\r\\n|${UNSAFE_CHAR}`, 'g');
/**
 * Whether there is anything to show differently (a CRLF's CR is an unsafe character too): most
 * text has nothing, and a `replace` with a function costs several times a test even then.
 */
const ANY_UNSAFE = new RegExp(UNSAFE_CHAR);

export function visible(text: string): string {
  if (!ANY_UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (c) => {
    if (c === '\r\n') return '\n';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * `value` with every string in it made `visible` (the data a command's renderer gets). What has
 * nothing to show differently is returned as it is, not copied: a listing of 20k issues is
 * almost all such text, and copying it cost more than drawing it.
 */
export function visibleDeep<T>(value: T): T {
  if (typeof value === 'string') return visible(value) as T;
  if (value === null || typeof value !== 'object') return value;
  // One function with plain loops: at 20k issues `Object.keys` (an array of keys for each
  // object) tripled the walk's cost, and so did a helper function each for arrays and objects.
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const shown = visibleDeep(value[i]);
      if (shown !== value[i]) (copy ??= [...value])[i] = shown;
    }
    return (copy ?? value) as T;
  }
  const fields = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const shown = visibleDeep(fields[key]);
    if (shown !== fields[key]) (copy ??= { ...fields })[key] = shown;
  }
  return (copy ?? value) as T;
}
