/**
 * The one base class of every grit command: shared flags, parsing by oclif, then the shared
 * `runAction` (src/cli/output.ts) that the fast path uses too.
 */
import { Command, Flags } from '@oclif/core';
import { printError, runAction, type Parsed } from './output.js';
import { describeCommand, findSingleDashLongFlag, findSwitchWithValue, fromParseError, type FlagLike, type ParsedCommand } from './parse-error.js';
import { argvWantsJson, chooseOutput, type FormattedAction, type OutputFormats } from './output-format.js';

export type { Parsed };

/**
 * The global flags (helpGroup GLOBAL), which may also come before the command (src/cli/fast.ts).
 * Every command that reads or writes a repository takes them all; one that does not (the daemon's,
 * `watch`, `mcp`) takes those that mean something to it and refuses the others, saying why
 * (`refusesGlobals`), rather than accept a flag and ignore it.
 */
export const GLOBAL_FLAGS = {
  json: Flags.boolean({ description: 'print one JSON object: {schema_version, ok, data|error}', helpGroup: 'GLOBAL' }),
  quiet: Flags.boolean({
    char: 'q',
    description: 'print no status line or view on success; data asked for on stdout (export -o -, dep graph, --format ids) still is',
    helpGroup: 'GLOBAL',
  }),
  'no-daemon': Flags.boolean({ description: 'run in this process, never through the daemon', helpGroup: 'GLOBAL' }),
  'no-pager': Flags.boolean({ description: 'never page long output on a terminal (GRIT_PAGER, PAGER, less)', helpGroup: 'GLOBAL' }),
  actor: Flags.string({ description: 'actor to act as: its id, a unique prefix, or its label', helpGroup: 'GLOBAL' }),
  'data-dir': Flags.string({ description: 'actor data directory (overrides --actor; env GRIT_HOME)', helpGroup: 'GLOBAL' }),
};

export type GlobalFlag = keyof typeof GLOBAL_FLAGS;

/** The global flags a command takes, when it does not take them all. */
export function someGlobalFlags(...names: GlobalFlag[]): Partial<typeof GLOBAL_FLAGS> {
  return Object.fromEntries(names.map((n) => [n, GLOBAL_FLAGS[n]]));
}

export abstract class GritCommand extends Command {
  static baseFlags: Partial<typeof GLOBAL_FLAGS> = GLOBAL_FLAGS;
  /** Why the global flags left out of `baseFlags` mean nothing to this command: said when one is given. */
  static refusesGlobals?: string;

  /** What the command runs (the IPC command function, SPEC §7), and how its result is shown. */
  protected abstract readonly action: FormattedAction;

  async run(): Promise<void> {
    const parsed = await parseOrReport(this, async () => (await this.parse()) as unknown as Parsed, this.action.formats);
    if (!parsed) return;
    const { action, json } = chooseOutput(this.action, parsed);
    await runAction(action, parsed, json);
  }
}

/**
 * Runs oclif's parse; a command line it refuses is printed as an `invalid_args` error (one JSON
 * object under `--json`) and gives null. For the commands that are not GritCommands too.
 */
export async function parseOrReport<T>(command: Command, parse: () => Promise<T>, formats?: OutputFormats): Promise<T | null> {
  try {
    const switchValue = findSwitchWithValue(command.argv, describeCommand(command).switches);
    if (switchValue) throw switchValue;
    const ctor = command.constructor as { flags?: Record<string, FlagLike>; baseFlags?: Record<string, FlagLike> };
    const oneDash = findSingleDashLongFlag(command.argv, { ...ctor.baseFlags, ...ctor.flags });
    if (oneDash) throw oneDash;
    return await parse();
  } catch (err) {
    printError(fromParseError(err, parsedCommand(command)), argvWantsJson(command.argv, formats));
    return null;
  }
}

/** What a parse error's hint needs to know of the command: its flags, and the global flags it refuses. */
function parsedCommand(command: Command): ParsedCommand {
  const ctor = command.constructor as typeof Command & { refusesGlobals?: string };
  const described = describeCommand(command);
  if (!ctor.refusesGlobals) return described;
  const refused = Object.entries(GLOBAL_FLAGS).filter(([name]) => !described.flags.includes(name));
  return {
    ...described,
    refusedGlobals: { spellings: refused.flatMap(([name, f]) => [`--${name}`, ...(f.char ? [`-${f.char}`] : [])]), why: ctor.refusesGlobals },
  };
}
