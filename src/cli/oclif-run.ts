/**
 * The command lines the fast path (fast.ts) leaves to oclif: help, command-line mistakes, oclif's
 * own commands (help, plugins, autocomplete) and plugin commands.
 *
 * A line about one of grit's own commands (its help, a parse error, a typo of its name under one
 * of grit's topics) runs with no user plugin loaded at all, so no plugin can change its output or
 * exit status. Any other line loads the user
 * plugins lazily (plugin-loading.ts): a plugin's command module is imported only when that command
 * runs, and a plugin's hooks run only for its own commands.
 */
import { Config, flush, handle, run, settings, type Command } from '@oclif/core';
import { getHelpFlagAdditions, normalizeArgv } from '@oclif/core/help';
import { GritError } from '../core/errors.js';
import { completeEachWordOnce } from './completion.js';
import { visible } from '../core/terminal-safe.js';
import { leadingWords, namedCommand } from './command-name.js';
import { reportMissingCommand } from './fast.js';
import { HELP_COMMAND, HELP_FLAG, mistypedCommand, reportUnknownCommand } from './hooks/command-not-found.js';
import { printError } from './output.js';
import { argvWantsJson } from './output-format.js';
import { watchLink } from './plugin-link.js';
import { isUserCommand, loadWithUserPlugins, pluginFailures, reportLoadFailures, unbuiltNote, unbuiltPlugins, withoutUserHooks } from './plugin-loading.js';
import { INSTALL, pluginPathError } from './plugin-paths.js';

/** What a command line asks oclif for, as oclif itself will read it. */
interface Line {
  id: string | undefined;
  command: Command.Loadable | undefined;
  /** Words after the command's name. */
  rest: string[];
  help: boolean;
  /** The command or topic help is asked about (none: the root help). */
  subject: string | undefined;
  /** What the line is about: the command line, or for help the words left once the help flags (or `help`) are gone. */
  about: string[];
}

/** `root`: the file oclif finds grit's package.json from (bin/grit.cjs). */
export async function runOclif(root: string, argv: string[]): Promise<void> {
  // Plugins run as compiled JavaScript (docs/plugins.md): never look for ts-node, not even for a
  // linked plugin, which oclif would otherwise try and then warn about on every command.
  settings.enableAutoTranspile = false;
  const json = argvWantsJson(argv);
  const core = await Config.load({ root, userPlugins: false });
  let config = core;
  let line = readLine(core, argv);
  if (!isGrits(core, line)) {
    config = await loadWithUserPlugins(root);
    line = readLine(config, argv);
  }
  if (json && refuseJson(config, line)) return;
  // A plugin's topic with a flag among its words, or alone under --json: as the fast path answers it for grit's topics.
  if (!line.command && !line.help && reportMissingCommand(argv, Object.fromEntries(config.commands.map((c) => [c.id, c])))) return;
  if (line.help) hideRefusedJson(config);
  const badPath = line.command && !line.help ? pluginPathError(line.command.id, line.rest) : undefined;
  if (badPath) return printError(badPath, false);
  // oclif installs a plugin whose `engines` this Node does not meet, and then warns about it on
  // every later command; npm's engine-strict refuses it before anything is added instead. Not for
  // uninstall: an unmet plugin already installed must still be removable.
  if (line.command && NPM_INSTALLS.includes(line.command.id)) process.env.npm_config_engine_strict = 'true';
  const pluginCommand = !line.help && isUserCommand(line.command) ? line.command : undefined;
  if (pluginCommand) reportLoadFailures(pluginCommand, config);
  withoutUserHooks(config, pluginCommand?.pluginName);
  if (line.command?.pluginName === '@oclif/plugin-plugins') {
    // oclif leaves a plugin it cannot read out of its list without a word.
    for (const f of pluginFailures()) process.stderr.write(`grit: warning: the plugin ${visible(f.plugin)} could not be loaded: ${visible(f.message)}\n`);
    for (const u of unbuiltPlugins()) process.stderr.write(`grit: warning: ${visible(unbuiltNote(u))}\n`);
  }
  if (!line.help) await completeEachWordOnce(config, line.command);
  const linked = line.command?.id === 'plugins:link' && !line.help ? watchLink(line.rest) : undefined;
  // oclif's execute(), but a GritError (a plugin command that cannot load) is printed as grit's.
  await run(argv, config).then(
    async () => {
      await linked?.(true);
      await flush();
    },
    async (err) => {
      await linked?.(false);
      return err instanceof GritError ? printError(err, json) : handle(asThrown(err));
    },
  );
}

/**
 * What a command threw, for oclif's handler, which reads properties of it: a plugin's `throw "…"`
 * crashed that handler (a TypeError and its stack, after "undefined"), and a `throw undefined`
 * came out as "no error?" with exit 2, the status of a mistake on the command line. Not an object,
 * it is told as an Error of its own (exit 1); an object, even one that is no Error, is oclif's to print.
 */
function asThrown(err: unknown): Error {
  if (typeof err === 'object' && err !== null) return err as Error;
  return new Error(typeof err === 'string' ? err : `the command threw ${String(err)}, not an Error`);
}

function readLine(config: Config, argv: string[]): Line {
  const helpFlags = getHelpFlagAdditions(config);
  const end = argv.indexOf('--');
  const helpFlag = (end === -1 ? argv : argv.slice(0, end)).some((a) => helpFlags.includes(a));
  const [first, ...rest] = normalizeArgv(config, [...argv]);
  const id = first === undefined || first.startsWith('-') ? undefined : first;
  const command = id === undefined ? undefined : config.findCommand(id);
  const helpCommand = command?.pluginName === '@oclif/plugin-help';
  const help = argv.length === 0 || helpFlag || helpCommand;
  const about = helpCommand ? rest : help ? argv.filter((a) => !helpFlags.includes(a)) : argv;
  // As the help class (help.ts) finds what it is about.
  const subject = namedCommand(config, about)?.id ?? normalizeArgv(config, [...about])[0];
  return { id, command, rest, help, about, subject: subject === undefined || subject.startsWith('-') ? undefined : subject };
}

/**
 * A command line about one of grit's own commands (running it, or its help): its words name one,
 * whatever words follow (its arguments), or mistype one under one of grit's topics: grit's
 * mistake, whose error no plugin may change.
 */
function isGrits(core: Config, line: Line): boolean {
  const named = namedCommand(core, line.about);
  return named ? named.pluginName === core.name : isGritsTypo(core, leadingWords(line.about));
}

/** `issue lst`, not `isue list`: the first word may be a plugin's. */
function isGritsTypo(core: Config, words: string[]): boolean {
  const own = core.plugins.get(core.name)?.commandIDs ?? [];
  return own.some((id) => id.startsWith(`${words[0]}:`)) && mistypedCommand(words, own) !== undefined;
}

const words = (id: string): string => id.replaceAll(':', ' ');

/**
 * `--json` asks for one JSON object, which help and oclif's own commands (plugins, autocomplete)
 * do not print: they answer it with invalid_args instead of text a script cannot read.
 */
function refuseJson(config: Config, line: Line): boolean {
  if (line.help) {
    if (line.subject && !config.findCommand(line.subject) && !config.findTopic(line.subject)) {
      reportUnknownCommand(line.subject, config.commandIDs, true, line.command?.pluginName === '@oclif/plugin-help' ? HELP_COMMAND : HELP_FLAG);
      return true;
    }
    const shown = line.subject ? `grit ${words(line.subject)} --help` : 'grit --help';
    printError(
      new GritError('invalid_args', `help is text: \`${shown}\` has no --json form`, {
        details: { help: line.subject ? words(line.subject) : '' },
        suggestion: `run \`${shown}\` without --json`,
      }),
      true,
    );
    return true;
  }
  const cmd = line.command;
  if (!cmd || !isOclifs(config, cmd)) return false;
  printError(
    new GritError('invalid_args', `\`grit ${words(cmd.id)}\` is oclif's command and has no --json output`, {
      details: { command: words(cmd.id), plugin: cmd.pluginName },
      suggestion: `run \`grit ${words(cmd.id)}\` without --json`,
    }),
    true,
  );
  return true;
}

/** oclif's own commands (plugins, autocomplete): not grit's, nor a user plugin's. */
const isOclifs = (config: Config, cmd: Command.Loadable): boolean => cmd.pluginType === 'core' && cmd.pluginName !== config.name;

/**
 * oclif's commands declare a --json that grit refuses (refuseJson): their help must not offer it.
 * Only what help reads is changed; the command, when it runs, parses with its own flags.
 */
function hideRefusedJson(config: Config): void {
  for (const cmd of config.commands) if (isOclifs(config, cmd)) delete cmd.flags.json;
}

/** oclif's commands that run `npm install` in its data dir to add or change plugins. */
const NPM_INSTALLS = [...INSTALL, 'plugins:update'];
