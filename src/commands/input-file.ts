/**
 * Files named on the command line (`--body-file`, an attachment), read with bounded memory and
 * never waited on: a FIFO, a device (`/dev/zero`) or a socket is refused before a byte is read,
 * since reading one may never end (or never begin: opening a FIFO blocks until a writer comes).
 * An attachment may be read by the daemon (it reads the path the CLI resolved), which serves
 * every repository of its user: unbounded reading there would take them all down.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { fsPromises } from '../core/builtins.js';
import { MAX_CHUNK_BYTES } from '../core/chunk.js';
import { GritError, inputFileError, invalidArgs, refuseDirectoryPath } from '../core/errors.js';
import { fromHex, toHex } from '../core/hex.js';

// Large enough that the hash, not the calls to read, takes the time (a GiB takes seconds).
const READ_BYTES = 1 << 20;

/**
 * The most bytes a body may take: a body is stored in one event of one WAL chunk, which never
 * holds more than this (src/core/chunk.ts), so a longer one could not be written anyway.
 */
export const MAX_BODY_BYTES = MAX_CHUNK_BYTES;

/**
 * Opens `file` for reading if it is a regular file. O_NONBLOCK: opening a FIFO does not wait for
 * a writer (it has no effect on a regular file); the type is checked on the open descriptor, so
 * the file cannot be swapped between the check and the read.
 */
async function openRegular(file: string): Promise<FileHandle> {
  refuseDirectoryPath(file);
  let handle: FileHandle;
  try {
    handle = await fsPromises().open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw inputFileError(file, err);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw inputFileError(file, { code: 'EISDIR' });
    if (!stat.isFile()) throw invalidArgs(`${file} is not a regular file`, { file }, 'give the path of a regular file (a FIFO or a device may never end)');
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Calls `each` with the file's bytes in pieces, in order, and returns how many bytes there were. */
async function readPieces(file: string, handle: FileHandle, each: (piece: Buffer) => void): Promise<number> {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      ({ bytesRead: n } = await handle.read(buf, 0, buf.length, null));
    } catch (err) {
      throw inputFileError(file, err);
    }
    if (n === 0) return total;
    total += n;
    each(buf.subarray(0, n));
  }
}

/** The SHA-256 of a regular file, as hex, read piece by piece (any size, little memory). */
export async function sha256OfFile(file: string): Promise<string> {
  const handle = await openRegular(file);
  try {
    const hash = createHash('sha256');
    await readPieces(file, handle, (piece) => hash.update(piece));
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** Standard input's SHA-256, as hex (`issue attachment add <id> -`): read as it comes, any size. */
export async function sha256OfStdin(): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of process.stdin) hash.update(chunk as Buffer);
  } catch (err) {
    throw inputFileError('-', err);
  }
  return hash.digest('hex');
}

/** An attachment's `--sha256`, when given: 64 hex characters, whether or not a file comes with it. */
export function givenSha256(value: string | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const sha256 = fromHex(value, 32);
  if (!sha256) throw invalidArgs('--sha256 must be 64 hex characters', { field: 'sha256', value }, 'copy the hash `sha256sum <file>` prints, or give the file itself');
  return sha256;
}

/**
 * The hash of an attachment's content (`hex`, of `source`: a file, standard input), which a
 * `--sha256` given with it must equal: given both, the user states what the content is, and a
 * content that is not so is the wrong file (or the wrong hash), never recorded under either.
 */
export function contentSha256(hex: string, given: Uint8Array | undefined, source: string): Uint8Array {
  if (given !== undefined && toHex(given) !== hex) {
    throw invalidArgs(
      `${source} hashes to ${hex}, not ${toHex(given)}`,
      { field: 'sha256', file: source, sha256: hex, expected: toHex(given) },
      'check that it is the file you meant, or leave --sha256 out to record the hash of what it holds',
    );
  }
  return fromHex(hex, 32)!;
}

function tooLong(file: string): never {
  const mib = MAX_BODY_BYTES / (1 << 20);
  throw invalidArgs(`${file === '-' ? 'standard input' : file} holds more than ${mib} MiB, the most a body may take`, { file, max_bytes: MAX_BODY_BYTES }, 'shorten the text (attach large content as a file with `grit issue attachment add`)');
}

/** Collects pieces up to MAX_BODY_BYTES, refusing (`tooLong`) as soon as there are more. */
function bodyCollector(file: string): { add: (piece: Buffer) => void; text: () => string } {
  const pieces: Buffer[] = [];
  let total = 0;
  return {
    add(piece) {
      total += piece.length;
      if (total > MAX_BODY_BYTES) tooLong(file);
      pieces.push(Buffer.from(piece));
    },
    text: () => utf8Text(Buffer.concat(pieces), file),
  };
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
    throw invalidArgs(
      `${file === '-' ? 'standard input' : file} is not valid UTF-8`,
      { file },
      'convert it to UTF-8 first (e.g. `iconv -f latin1 -t utf-8`); attach a binary file with `grit issue attachment add`',
    );
  }
}

/** A body from a regular file or, for `-`, standard input: at most MAX_BODY_BYTES, as UTF-8. */
export async function readBodyFile(file: string): Promise<string> {
  const body = bodyCollector(file);
  if (file === '-') {
    try {
      for await (const chunk of process.stdin) body.add(chunk as Buffer);
    } catch (err) {
      throw err instanceof GritError ? err : inputFileError(file, err);
    }
    return body.text();
  }
  const handle = await openRegular(file);
  try {
    // A file that says it is too long is refused unread; one that grows while read, when it has.
    if ((await handle.stat()).size > MAX_BODY_BYTES) tooLong(file);
    await readPieces(file, handle, body.add);
    return body.text();
  } finally {
    await handle.close();
  }
}
