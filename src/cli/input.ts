/** Reading command input that is not a flag value: text from a file or standard input. */
import { GritError } from '../core/errors.js';

/** `--body` or `--body-file` (with `-` for standard input). */
export async function readBody(flags: Record<string, unknown>): Promise<string | undefined> {
  const file = flags['body-file'] as string | undefined;
  if (file === undefined) return flags.body as string | undefined;
  if (flags.body !== undefined) {
    throw new GritError('invalid_args', 'give --body or --body-file, not both', { suggestion: 'use --body-file - to read the body from standard input' });
  }
  // Loaded only here: it brings the chunk limits (and their modules) that no other start-up path needs.
  const { readBodyFile } = await import('../commands/input-file.js');
  return readBodyFile(file);
}
