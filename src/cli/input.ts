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
  let bytes: Buffer;
  try {
    bytes = file === '-' ? await readStdin() : await readFile(file);
  } catch (err) {
    throw inputFileError(file, err);
  }
  return utf8Text(bytes, file);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ignoreBOM: a leading U+FEFF is part of the text, as a plain read keeps it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A body is text: bytes that are not UTF-8 (a binary file, a Latin-1 one) are refused rather than
 * stored with U+FFFD in place of what could not be read, which nothing would tell (docs/commands.md).
 */
function utf8Text(bytes: Uint8Array, file: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new GritError('invalid_args', `${file === '-' ? 'standard input' : file} is not valid UTF-8`, {
      details: { file },
      suggestion: 'convert it to UTF-8 first (e.g. `iconv -f latin1 -t utf-8`); attach a binary file with `grit issue attachment add`',
    });
  }
}
