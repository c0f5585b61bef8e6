/** Builds a grit command class from a small description, so each command file is only what differs. */
import { Args as OArgs, Flags } from '@oclif/core';
import { intRangeText, type Args, type IntRange } from '../commands/args.js';
import { GLOBAL_FLAGS, GritCommand, someGlobalFlags, type GlobalFlag, type Parsed } from './base.js';
import type { CliAction } from './output.js';
import { ACTIONS } from './actions.js';
import type { OutputFormats } from './output-format.js';

export interface CommandSpec<D> {
  ipc: string;
  /**
   * One line for `grit --help` and a topic's list of commands, when the description says more:
   * oclif lists a command by the first line of its description otherwise, however long.
   */
  summary?: string;
  description: string;
  examples?: string[];
  args?: Record<string, any>;
  flags?: Record<string, any>;
  toArgs?: (p: Parsed) => Args | Promise<Args>;
  render: CliAction<D>['render'];
  streams?: CliAction<D>['streams'];
  exitCode?: CliAction<D>['exitCode'];
  payload?: CliAction<D>['payload'];
  formats?: OutputFormats;
  /** A command that does not take every global flag: those it takes, and why the others mean nothing to it. */
  globals?: { take: GlobalFlag[]; why: string };
}

export function defineCommand<D = any>(spec: CommandSpec<D>): typeof GritCommand {
  // (baseFlags: oclif adds them to the command's flags, for its parser, help and manifest alike.)
  return class extends GritCommand {
    static summary = spec.summary;
    static description = spec.description;
    static examples = spec.examples ?? [];
    static args = noStdin(spec.args ?? {});
    static flags = spec.formats ? { ...spec.flags, format: formatFlag(spec.formats) } : (spec.flags ?? {});
    static baseFlags = spec.globals ? someGlobalFlags(...spec.globals.take) : GLOBAL_FLAGS;
    static refusesGlobals = spec.globals?.why;
    protected readonly action = { ...spec, toArgs: spec.toArgs ?? (() => ({})) };
  } as unknown as typeof GritCommand;
}

/**
 * oclif fills a missing argument from standard input when it is not a terminal: `grit issue show`
 * with its id forgotten, in a `while read` loop, would eat the rest of the loop's input as that id.
 * A missing argument is an error here, like any other; text comes from stdin only when asked for
 * (`--body-file -`).
 */
function noStdin(args: Record<string, any>): Record<string, any> {
  return Object.fromEntries(Object.entries(args).map(([name, arg]) => [name, { ...arg, ignoreStdin: true }]));
}

function formatFlag(formats: OutputFormats) {
  const names = Object.keys(formats);
  return Flags.string({
    // --json outranks --format: a script that always asks for JSON gets it.
    description: `output format: ${names.map((n) => (formats[n] === 'json' ? `${n} (same as --json)` : n)).join(', ')}; --json outranks it`,
    options: names,
    default: names[0],
    helpGroup: 'OUTPUT',
  });
}

/**
 * A flag that takes a whole number in `range`. oclif passes it on as text and checks nothing: the
 * command reads it (args.ts `optInt`), as it reads the same argument from the daemon, MCP and the
 * API, so every value out of range is one invalid_args that names the range, on the fast path and
 * oclif's alike (`--limit -1` goes to oclif: its value looks like a flag). Flags.integer answered
 * some values itself, in oclif's words. Nor is the default oclif's: the command applies it.
 */
export function intFlag(description: string, range: IntRange, notes: string[] = []) {
  const about = [intRangeText(range), ...(range.default === undefined ? [] : [`default ${range.default}`]), ...notes];
  return Flags.string({ description: `${description} (${about.join(', ')})` });
}

export const issueArg = {
  id: OArgs.string({ required: true, description: 'issue id or a unique prefix of at least 4 hex characters' }),
};

/** `--state` and `--label`, the filters of `issue list` and `issue dep topo`. */
export const issueFilterFlags = {
  state: Flags.string({ char: 's', description: 'only issues in this state', options: ['open', 'closed'] }),
  label: Flags.string({ char: 'l', description: 'only issues with this label' }),
};

export const bodyFlags = {
  body: Flags.string({ description: 'text (Markdown)' }),
  'body-file': Flags.string({ description: 'read the text from a file, or - for standard input' }),
};

/** `issue label add|remove` and `issue assignee add|remove`: one flag naming the set member. */
export function memberCommand(set: 'label' | 'assignee', op: 'add' | 'remove'): typeof GritCommand {
  const field = set === 'label' ? 'label' : 'user';
  const member = set === 'label' ? 'a label' : 'an assignee';
  return defineCommand({
    ...ACTIONS[`issue:${set}:${op}`],
    description: op === 'add' ? `Add ${member} to an issue` : `Remove ${member} from an issue (one it does not have is not_found)`,
    args: issueArg,
    // -l as on `issue create` and `issue list`.
    flags: { [field]: Flags.string({ description: set, required: true, ...(set === 'label' ? { char: 'l' as const } : {}) }) },
  });
}
export { readBody } from './input.js';

/** `issue dep add|remove`: the issue, the other issue and the edge type. */
export function depEdgeCommand(op: 'add' | 'remove'): typeof GritCommand {
  return defineCommand({
    ...ACTIONS[`issue:dep:${op}`],
    description:
      op === 'add'
        ? 'Record a dependency: <id> blocks, depends_on or is related_to the target (cycles are refused)'
        : 'Remove a dependency (either way round it was recorded)',
    examples: [`<%= config.bin %> issue dep ${op} a1b2 --target c3d4 --type depends_on`],
    args: issueArg,
    flags: {
      target: Flags.string({ description: 'the other issue: id or a unique prefix', required: true }),
      type: Flags.string({ description: 'the relation of <id> to the target', options: ['blocks', 'depends_on', 'related_to'], required: true }),
    },
  });
}
