/**
 * Text as typed at a POSIX shell prompt, for the commands grit prints in suggestions and doctor's
 * plans: a plan is run as printed, so a path with a space or a `$` in it must stay one word.
 */

/** `text` as one word at a shell prompt, in double quotes (`"hello world"`), the characters a shell reads there escaped. */
export const shellQuoted = (text: string): string => `"${text.replace(/["\\$`]/g, '\\$&')}"`;

/** `word` as typed at a shell prompt: as it is when a shell reads none of its characters, else quoted. */
export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : shellQuoted(word));

/** The `mv` a plan prints to move `from` to `to`, each path one word. */
export const mvCommand = (from: string, to: string): string => `mv ${shellWord(from)} ${shellWord(to)}`;
