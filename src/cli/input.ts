/** Reading command input that is not a flag value: text from a file or standard input. */
import { fstatSync, statSync } from 'node:fs';
import { GritError } from '../core/errors.js';
import { toHex } from '../core/hex.js';

/**
 * Standard input about to be read from a terminal: one line on stderr saying what is read and how
 * to end it, since the wait looks like a hang otherwise. Never for a pipe or a file, where a
 * program gives the input, and never on stdout, which --json keeps to its one object.
 */
export function sayReadingTerminal(what: string): void {
  if (!process.stdin.isTTY) return;
  const end = process.platform === 'win32' ? 'Ctrl-Z then Enter' : 'Ctrl-D on a line of its own';
  process.stderr.write(`grit: reading ${what} from the terminal; end it with ${end}\n`);
}

/**
 * Standard input about to be read for `-` (`what`: "the body"). Closed (`<&-`; Node opens
 * /dev/null in its place, so the two look the same) or /dev/null, nothing is given: read, it is
 * empty content, recorded without a word (an attachment under the hash of nothing), so it is
 * refused. A terminal is read where text is typed (a body, a value: saying so, and how to end
 * it), and refused where content is piped (`typed` false: an attachment). An empty pipe or an
 * empty file is empty content, read as such (`: | grit … -`).
 */
function checkStdin(what: string, instead: string, typed: boolean): void {
  if (process.stdin.isTTY) {
    if (typed) return sayReadingTerminal(what);
    throw new GritError('invalid_args', `standard input is a terminal: nothing is piped in for ${what}`, {
      details: { field: 'stdin', stdin: 'terminal' },
      suggestion: `pipe it in (\`cat FILE | grit … -\`), or ${instead}`,
    });
  }
  if (isDevNull(0)) {
    throw new GritError('invalid_args', `standard input is closed (or /dev/null): nothing is piped in for ${what}`, {
      details: { field: 'stdin', stdin: 'closed' },
      suggestion: `pipe it in (\`… | grit … -\`; \`: | grit … -\` for empty content), or ${instead}`,
    });
  }
}

function isDevNull(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && st.rdev === statSync('/dev/null').rdev;
  } catch (err) {
    // A descriptor that is not open (where the platform leaves it so) is as closed as it gets.
    return (err as NodeJS.ErrnoException).code === 'EBADF';
  }
}

/** `--body` or `--body-file` (with `-` for standard input). */
export function readBody(flags: Record<string, unknown>): Promise<string | undefined> {
  return textOrFile(flags.body as string | undefined, flags['body-file'] as string | undefined, { text: '--body', file: '--body-file', what: 'the body', instead: 'give it with --body or --body-file <file>' });
}

/**
 * `context set <key> <value>` or `--value-file` (`-` for standard input): a value past what one
 * argument may hold (128 KiB on Linux: "Argument list too long" from the shell), or a file's
 * text, has no other way in.
 */
export async function readValue(args: Record<string, unknown>, flags: Record<string, unknown>): Promise<string> {
  const value = await textOrFile(args.value as string | undefined, flags['value-file'] as string | undefined, { text: '<value>', file: '--value-file', what: 'the value', instead: 'give it after the key or with --value-file <file>' });
  if (value === undefined) {
    throw new GritError('invalid_args', '<value> is required (or --value-file)', {
      details: { field: 'value' },
      suggestion: 'give it after the key (`grit context set <key> <value>`), or read it with --value-file <file> (- for standard input)',
    });
  }
  return value;
}

/** Text given on the command line, or read from `file` (`-`: standard input); not both. */
async function textOrFile(text: string | undefined, file: string | undefined, names: { text: string; file: string; what: string; instead: string }): Promise<string | undefined> {
  if (file === undefined) return text;
  if (text !== undefined) {
    throw new GritError('invalid_args', `give ${names.text} or ${names.file}, not both`, { suggestion: `use ${names.file} - to read ${names.what} from standard input` });
  }
  // Loaded only here: it brings the chunk limits (and their modules) that no other start-up path needs.
  const { readBodyFile } = await import('../commands/input-file.js');
  if (file === '-') checkStdin(names.what, names.instead, true);
  return readBodyFile(file);
}

/**
 * `issue attachment add <id> -`: the SHA-256 of standard input, as hex, checked against
 * `--sha256` when that is given too. Read here, by the CLI (a daemon cannot read this process's
 * input), so before the issue is found. The name cannot come from a file: `--name` is required.
 */
export async function stdinSha256(flags: Record<string, unknown>): Promise<string> {
  if (flags.name === undefined) {
    throw new GritError('invalid_args', '--name is required with - (standard input has no file name)', {
      details: { field: 'name' },
      suggestion: 'name the attachment: `… | grit issue attachment add <id> - --name log.txt`',
    });
  }
  const { contentSha256, givenSha256, sha256OfStdin } = await import('../commands/input-file.js');
  const given = givenSha256(flags.sha256 as string | undefined);
  checkStdin('the attachment', "give the file's path in place of -", false);
  return toHex(contentSha256(await sha256OfStdin(), given, 'standard input'));
}
