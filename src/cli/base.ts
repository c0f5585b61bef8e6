/**
 * The one base class of every grit command: shared flags, the `--json` envelope of SPEC §6,
 * exit codes, and the choice between the daemon and running in this process.
 */
import { Command, Flags } from '@oclif/core';
import { GritError, toGritError } from '../core/errors.js';
import type { Args } from '../commands/args.js';
import { dim, red } from './format.js';

export interface Parsed {
  args: Record<string, unknown>;
  flags: Record<string, unknown>;
}

export abstract class GritCommand extends Command {
  static baseFlags = {
    json: Flags.boolean({ description: 'print one JSON object: {schema_version, ok, data|error}', helpGroup: 'GLOBAL' }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing on success', helpGroup: 'GLOBAL' }),
    'no-daemon': Flags.boolean({ description: 'run in this process, never through the daemon', helpGroup: 'GLOBAL' }),
    actor: Flags.string({ description: 'actor id (or unique prefix) to act as', helpGroup: 'GLOBAL' }),
    'data-dir': Flags.string({ description: 'actor data directory (overrides --actor; env GRIT_HOME)', helpGroup: 'GLOBAL' }),
  };

  /** The IPC name of the command function this runs (SPEC §7). */
  protected abstract readonly ipcName: string;

  /** Turns parsed flags and arguments into the command function's snake_case arguments. */
  protected abstract toArgs(parsed: Parsed): Args | Promise<Args>;

  /** Human output for a successful result. */
  protected abstract render(data: any): string;

  private jsonMode(): boolean {
    return this.argv.includes('--json');
  }

  async run(): Promise<void> {
    const json = this.jsonMode();
    try {
      const parsed = (await this.parse()) as unknown as Parsed;
      const args = await this.toArgs(parsed);
      const flags = parsed.flags;
      const options = {
        cwd: process.cwd(),
        actor: flags.actor as string | undefined,
        dataDir: flags['data-dir'] as string | undefined,
      };
      const { runLocal } = await import('../commands/run.js');
      const data = await runLocal(this.ipcName, args, options);
      if (json) process.stdout.write(JSON.stringify({ schema_version: 1, ok: true, data }) + '\n');
      else if (!flags.quiet) {
        const text = this.render(data);
        if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
      }
    } catch (err) {
      this.fail(fromParseError(err), json);
    }
  }

  private fail(err: GritError, json: boolean): void {
    if (json) {
      process.stdout.write(JSON.stringify({ schema_version: 1, ok: false, error: err.toJSON() }) + '\n');
    } else {
      process.stderr.write(`${red('error', process.stderr)}: ${err.message}\n`);
      if (err.suggestion) process.stderr.write(`${dim('hint', process.stderr)}: ${err.suggestion}\n`);
    }
    process.exitCode = err.exitCode;
  }
}

/** oclif's own parse failures (unknown flag, missing argument) become invalid_args. */
function fromParseError(err: unknown): GritError {
  if (err instanceof GritError) return err;
  const e = err as { oclif?: unknown; message?: string; constructor?: { name?: string } };
  if (e && (e.oclif !== undefined || /Error$/.test(e.constructor?.name ?? '')) && isParseError(e)) {
    return new GritError('invalid_args', (e.message ?? 'invalid arguments').split('\n')[0], {
      suggestion: 'run the command with --help to see its flags',
    });
  }
  return toGritError(err);
}

function isParseError(e: { constructor?: { name?: string } }): boolean {
  const name = e.constructor?.name ?? '';
  return /Parse|Flag|Arg|Required|Nonexistent|Unexpected|Options|Validation/.test(name);
}
