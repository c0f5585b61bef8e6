/**
 * What a failed write on standard output or standard error does to a grit process (both bins):
 * never a stack trace, and an exit status that says the output was lost (docs/reliability.md,
 * "Standard output and standard error").
 */

let program = 'grit';

/**
 * A reader that stops early (`grit issue list --json | head`) closes the pipe (EPIPE): that ends
 * the output, not the command, which has already done its work, so the command's own status
 * stands. Any other failure (a full disk, `> /dev/full`, EIO) loses output nobody chose to drop:
 * one line on stderr, and status 1 unless the command had already failed with its own status.
 */
function outputLost(err: NodeJS.ErrnoException): never {
  const own = Number(process.exitCode ?? 0);
  if (err.code === 'EPIPE') process.exit(own);
  // Standard error is written synchronously (a file, a terminal, a pipe on Linux): it is out before
  // the exit. If it is broken too, its guard keeps the failure quiet and the status still says it.
  process.stderr.write(`${program}: cannot write standard output: ${err.message}\n`);
  process.exit(own === 0 ? 1 : own);
}

/**
 * Installs the handlers: stdout as outputLost says; a failed stderr write is ignored, so a
 * message that cannot be shown does not turn the command's status into a crash's 1.
 */
export function guardStandardStreams(name: string): void {
  program = name;
  process.stdout.on('error', outputLost);
  process.stderr.on('error', () => {});
}

/**
 * Writes to standard output and resolves once it is written, for a process that exits right after
 * (process.exit would otherwise end it before a failed write is reported).
 */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, (err) => (err ? outputLost(err) : resolve())));
}
