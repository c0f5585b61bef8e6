/**
 * Credentials in URLs, kept out of everything grit prints or logs (messages, details, hints,
 * replies, warnings): a remote given as `https://user:s3cr3t@host/x.git` must not end up in an
 * agent's transcript, as git itself never shows it either (docs/sync.md, "Credentials in a URL").
 */

/**
 * `scheme://<userinfo>@`: the authority up to its last `@`; an authority holds no `/`, `?`, `#`,
 * whitespace or quote (so a URL quoted in a hint ends where its quote does).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#'"`]+)@/gi;

/** Schemes whose user name alone can be the secret: a token given as the user (`https://<token>@host/…`). */
const TOKEN_AS_USER = /^(https?|ftps?):\/\/$/i;

/**
 * `text` with every URL's password replaced by `***` (`https://user:***@host/…`), and the user of
 * an http(s) URL without a password too (`https://***@host/…`). An ssh user (`ssh://git@host/…`,
 * `git@host:x`) is no secret and stays.
 */
export function redactUrls(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USERINFO, (all: string, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:***@`;
    return TOKEN_AS_USER.test(scheme) ? `${scheme}***@` : all;
  });
}

/** `value` with `redactUrls` applied to every string in it, through arrays and plain objects. */
export const redactDeep = <T>(value: T): T => mapStrings(value, redactUrls);

/** `value` with `f` applied to every string in it, through arrays and plain objects. */
export function mapStrings<T>(value: T, f: (s: string) => string): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  // Keys as data (a caller's JSON may hold `__proto__`): `out[k] = …` would set the copy's prototype.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)])) as T;
}
