/**
 * oclif's parse errors as grit reports them: `invalid_args` with a one-line message. Free of oclif,
 * so the API (src/cli/plugin-output.ts) can map a plugin's parse errors without loading it.
 */
import { stripVTControlCharacters } from 'node:util';
import { GritError } from '../core/errors.js';

/** Whatever oclif's parser refuses (unknown flag, missing argument, a value out of range) is invalid_args. */
export function fromParseError(err: unknown): GritError {
  if (err instanceof GritError) return err;
  return new GritError('invalid_args', oneLine((err as Error)?.message ?? ''), { suggestion: 'run the command with --help to see its flags' });
}

/**
 * oclif's messages are several lines: a heading ("The following error occurred:", "Missing 1
 * required arg:"), the detail, then "See more help with --help". The detail is what matters.
 * On a terminal oclif styles them too; an error is data (a JSON message, or grit's own styling).
 */
function oneLine(message: string): string {
  const lines = stripVTControlCharacters(message)
    .replace(/\s*\n\t/g, ': ')
    .split('\n')
    // "id  issue id or …": an argument's name and its description; --help has the description.
    .map((l) => l.trim().replace(/^(\S+)\s{2,}.+$/, '$1').replace(/\s+/g, ' '))
    .filter((l) => l && l !== 'The following error occurred:' && !l.startsWith('See more help'));
  return lines.reduce((out, l) => (!out ? l : out.endsWith(':') ? `${out} ${l}` : `${out}; ${l}`), '') || 'invalid arguments';
}
