/**
 * `--format` of list commands (`issue list --format table|json|ids`): each name picks a human
 * rendering, or `json` for exactly the `--json` envelope. Chosen before the shared runAction
 * runs, so that it, the fast path and oclif commands stay unaware of formats.
 */
import type { CliAction, Parsed } from './output.js';

export type OutputFormats = Record<string, CliAction['render'] | 'json'>;

/** A CLI action that may offer `--format`; the first format is the default. */
export interface FormattedAction extends CliAction {
  formats?: OutputFormats;
}

export function chooseOutput(action: FormattedAction, parsed: Parsed): { action: CliAction; json: boolean } {
  const json = parsed.flags.json === true;
  const chosen = typeof parsed.flags.format === 'string' ? action.formats?.[parsed.flags.format] : undefined;
  if (json || chosen === undefined) return { action, json };
  if (chosen === 'json') return { action, json: true };
  return { action: { ...action, render: chosen }, json: false };
}

/** A value of `--json=<value>` that says JSON was not wanted (decisions.md, "A switch … takes no value"). */
const NOT_WANTED = /^(false|0|no|off|)$/i;

/**
 * Whether a command line asks for JSON, before (or without) parsing it: for parse errors.
 * `--json=true` is refused (a switch takes no value), but in the envelope it asked for.
 */
export function argvWantsJson(argv: string[], formats?: OutputFormats): boolean {
  if (argv.some((a) => a === '--json' || (a.startsWith('--json=') && !NOT_WANTED.test(a.slice('--json='.length))))) return true;
  if (formats?.json !== 'json') return false;
  return argv.some((a, i) => a === '--format=json' || (a === '--format' && argv[i + 1] === 'json'));
}
