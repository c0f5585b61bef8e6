/**
 * Long human output on a terminal goes through a pager, as git's and gh's does: `$GRIT_PAGER`,
 * else `$PAGER`, else `less` if it is on PATH, with `LESS=FRX` unless LESS is set (quit at once
 * when it fits one screen, keep colours, leave the text on the screen). Set to nothing or `cat`,
 * either variable turns paging off, as `--no-pager` does. Only the listing and showing commands
 * page (CliAction.pages); runAction loads this module only when standard output is a terminal.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { terminalWidth, visibleLength } from './format.js';

/** The pager command line to run (through the shell, as git runs it), or null for none. */
export function pagerCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.GRIT_PAGER ?? env.PAGER;
  if (chosen !== undefined) return chosen.trim() === '' || chosen.trim() === 'cat' ? null : chosen;
  return onPath('less', env.PATH) ? 'less' : null;
}

/** Whether `text` shows whole on `stream`'s screen, a line left for the prompt; true when its size is unknown. */
export function fitsScreen(text: string, stream: NodeJS.WriteStream = process.stdout): boolean {
  const rows = stream.rows;
  const columns = terminalWidth(stream);
  if (!rows || !columns) return true;
  let used = 0;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    used += Math.max(1, Math.ceil(visibleLength(line) / columns));
    if (used >= rows) return false;
  }
  return true;
}

/** Prints `text` (a command's human output) on standard output, a terminal: through the pager when it is longer than the screen. */
export async function printPaged(text: string): Promise<void> {
  if (!text) return;
  const out = text.endsWith('\n') ? text : `${text}\n`;
  const command = pagerCommand();
  if (command === null || fitsScreen(out)) {
    process.stdout.write(out);
    return;
  }
  const code = await runPager(command, out);
  // The shell could not find or run it (it said so on stderr): the output is not lost for that.
  if (code === 126 || code === 127) process.stdout.write(out);
}

/** The pager's exit status. It may quit before reading everything (the person has seen enough): not an error. */
async function runPager(command: string, text: string): Promise<number | null> {
  const { spawn } = await import('node:child_process');
  const env = { ...process.env, LESS: process.env.LESS ?? 'FRX', LV: process.env.LV ?? '-c' };
  const child = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
  // The pager has the terminal now: a Ctrl-C is for it (less takes it to stop a search), and must
  // not end grit under it, which would hand the terminal back to the shell with the pager still on it.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  try {
    child.stdin.on('error', ignore); // EPIPE: it quit early
    child.stdin.end(text);
    return await new Promise((resolve) => {
      child.once('error', () => resolve(127));
      child.once('close', (code) => resolve(code));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

function onPath(name: string, path: string | undefined): boolean {
  return (path ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
