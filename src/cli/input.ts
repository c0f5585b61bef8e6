/** Reading command input that is not a flag value: text from a file or standard input. */
import { readFile } from 'node:fs/promises';
import { GritError, inputFileError } from '../core/errors.js';

/** `--body` or `--body-file` (with `-` for standard input). */
export async function readBody(flags: Record<string, unknown>): Promise<string | undefined> {
  const file = flags['body-file'] as string | undefined;
  if (file === undefined) return flags.body as string | undefined;
  if (flags.body !== undefined) {
    throw new GritError('invalid_args', 'give --body or --body-file, not both', { suggestion: 'use --body-file - to read the body from standard input' });
  }
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw inputFileError(file, err);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
