/**
 * oclif's `command_not_found` hook. Without it an unknown command prints oclif's plain error even
 * under `--json`, where scripts and agents expect SPEC §6's one JSON object; with it the error is
 * an `invalid_args` like every other bad command line, with a plan.
 */
import type { Hook } from '@oclif/core';
import { GritError } from '../../core/errors.js';
import { printError } from '../output.js';
import { argvWantsJson } from '../output-format.js';
import { failuresExplaining, unbuiltExplaining, unbuiltNote, type PluginFailure } from '../plugin-loading.js';
import { closestWord } from '../spelling.js';
import { describeFlags, unexpectedArguments } from '../parse-error.js';
import { GLOBAL_FLAGS } from '../base.js';

const hook: Hook<'command_not_found'> = async function ({ id }) {
  const known = this.config.commandIDs;
  // oclif has joined every word before the first flag into `id` with ':' (its separator), so
  // `grit lock acquire repo:x` arrives as "lock:acquire:repo:x": the words come from argv.
  const argv = process.argv.slice(2);
  const json = argvWantsJson(argv);
  const firstFlag = argv.findIndex((a) => a.startsWith('-'));
  const words = firstFlag === -1 ? argv : argv.slice(0, firstFlag);
  for (let n = words.length - 1; n > 0; n--) {
    const command = this.config.findCommand(words.slice(0, n).join(':'));
    if (command) return printError(unexpectedArguments(words.slice(n), describeFlags(command.id, command.flags, argv.slice(n))), json);
  }
  if (words.length === 0 && argv[0]?.startsWith('-')) return reportFlagFirst(argv[0], json);
  if (reportHelpInside(words, known, json)) return;
  const typo = mistypedCommand(words, known);
  if (typo) return reportUnknownCommand(typo, known, json);
  // Nothing near: what is unknown is the topics typed and the first word after them
  // (`grit issue delete 70f9` → `issue delete`); the rest are its arguments.
  let topics = 0;
  while (topics < words.length && isTopic(words.slice(0, topics + 1).join(':'), known)) topics++;
  reportUnknownCommand(words.length ? words.slice(0, topics + 1).join(':') : id, known, json);
};

export default hook;

/**
 * A typo followed by arguments (`grit issue shwo 1d16`): the id of the words a command of `known`
 * is near (`issue:shwo`). A whole topic is near every command in it, which says nothing: `issue`
 * is not a typo.
 */
export function mistypedCommand(words: readonly string[], known: readonly string[]): string | undefined {
  for (let n = words.length; n > 0; n--) {
    const candidate = words.slice(0, n).join(':');
    if (!isTopic(candidate, known) && nearest(candidate, known)) return candidate;
  }
  return undefined;
}

/** Words a person or an agent reaches for that grit spells otherwise (`issue edit` is `issue update`). */
const SYNONYMS = new Map([
  ['edit', 'update'],
  ['delete', 'close'],
  ['rm', 'close'],
  ['new', 'create'],
  ['add', 'create'],
  ['ls', 'list'],
  ['view', 'show'],
  ['get', 'show'],
]);

const isTopic = (id: string, known: readonly string[]): boolean => known.some((k) => k.startsWith(`${id}:`));

/**
 * How a suggested command is written: to run it, or, where help was asked for (`grit help list`,
 * `grit lst --help`), for its help, which is what was meant: `grit issue list` would run it.
 */
export type Spelling = (words: string) => string;
const TO_RUN: Spelling = (words) => `grit ${words}`;
export const HELP_COMMAND: Spelling = (words) => `grit help ${words}`;
export const HELP_FLAG: Spelling = (words) => `grit ${words} --help`;

const command = (id: string, spell: Spelling = TO_RUN): string => `\`${spell(id.replaceAll(':', ' '))}\``;

/** The commands one level under `topic` (`issue` → assignee, attachment, close, …). */
function subcommands(topic: string, known: readonly string[]): string[] {
  const under = known.filter((k) => k.startsWith(`${topic}:`) && !k.startsWith('plugins:'));
  return [...new Set(under.map((k) => k.slice(topic.length + 1).split(':')[0]))].sort();
}

/** `invalid_args` for a command id that names no command, with the nearest ones as the plan. */
export function reportUnknownCommand(id: string, known: readonly string[], json: boolean, spell: Spelling = TO_RUN): void {
  const cut = id.lastIndexOf(':');
  const topic = cut === -1 ? '' : id.slice(0, cut);
  const alias = SYNONYMS.get(id.slice(cut + 1));
  const synonym = alias && (topic ? `${topic}:${alias}` : alias);
  const near =
    id === 'version' ? '`grit --version`' : (nearest(id, known, spell) ?? (synonym && known.includes(synonym) ? command(synonym, spell) : undefined) ?? nearestTopic(id, known, spell));
  const under = topic ? subcommands(topic, known) : [];
  const inTopic = `grit ${topic.replaceAll(':', ' ')}`;
  const failed = failuresExplaining(id);
  const unbuilt = unbuiltExplaining(id);
  // A plugin linked before it was built is the likelier cause than a command a few letters away.
  const lead = unbuilt.map((u) => `${unbuiltNote(u)}; or `).join('');
  printError(
    new GritError('invalid_args', `unknown command: grit ${id.replaceAll(':', ' ')}`, {
      details: {
        command: id.replaceAll(':', ' '),
        ...(under.length ? { commands: under.map((c) => `${inTopic} ${c}`) } : {}),
        ...(failed.length ? { unloaded_plugins: failed } : {}),
        ...(unbuilt.length ? { unbuilt_plugins: unbuilt } : {}),
      },
      suggestion:
        lead +
        (near
          ? `did you mean ${near}?`
          : under.length
            ? `\`${inTopic}\` has: ${under.join(', ')} (\`${inTopic} --help\` says what each does)`
            : 'run `grit help` to see the commands') + unloadedNote(failed),
    }),
    json,
  );
}

/** The command may be one of a plugin that could not be read (a broken package.json). */
function unloadedNote(failed: readonly PluginFailure[]): string {
  if (failed.length === 0) return '';
  return ` (${failed.map((f) => `the plugin ${f.plugin} could not be loaded: ${f.message}`).join('; ')}; its commands are missing)`;
}

/**
 * A flag before the command that is not a global one (those are accepted there: src/cli/fast.ts);
 * `-v` and `-V`, which other tools print their version for, point to `--version`, and a misspelt
 * global flag (`--jsno`, `--Version`, `--no-deamon`) to the one it is near.
 */
function reportFlagFirst(flag: string, json: boolean): void {
  const near = /^-(v|V|-v)$/.test(flag) ? '--version' : closestWord(flag.split('=')[0], FIRST_FLAGS);
  printError(
    new GritError('invalid_args', `unknown flag before the command: ${flag}`, {
      details: { flag, ...(near ? { did_you_mean: near } : {}) },
      suggestion:
        near === '--version' || near === '--help'
          ? `did you mean \`grit ${near}\`?`
          : near
            ? `did you mean ${near}?`
            : "put a command's own flags after it, e.g. `grit issue list --state open`",
    }),
    json,
  );
}

/** The flags that may come before a command: the global ones, and grit's own `--version` and `--help`. */
const FIRST_FLAGS = [...Object.keys(GLOBAL_FLAGS).map((name) => `--${name}`), '--version', '--help'];

/**
 * `grit issue help list`: help asked for from inside a topic, as some tools take it. The unknown
 * command is named, and the plan is the help of what the other words name. False when they name
 * nothing (a typo, reported as such).
 */
function reportHelpInside(words: string[], known: readonly string[], json: boolean): boolean {
  const at = words.indexOf('help');
  if (at < 1) return false;
  const subject = words.filter((_, k) => k !== at).join(':');
  if (!known.includes(subject) && !isTopic(subject, known)) return false;
  const shown = subject.replaceAll(':', ' ');
  printError(
    new GritError('invalid_args', `unknown command: grit ${words.join(' ')}`, {
      details: { command: words.join(' '), help: shown },
      suggestion: `did you mean \`grit help ${shown}\` (or \`grit ${shown} --help\`)?`,
    }),
    json,
  );
  return true;
}

/** A lone word near a topic (`grit isue` → `grit issue`), whose commands it then names. */
function nearestTopic(id: string, known: readonly string[], spell: Spelling): string | undefined {
  if (id.includes(':')) return undefined;
  const topic = closestWord(id, new Set(known.filter((k) => k.includes(':') && !k.startsWith('plugins:')).map((k) => k.split(':')[0])));
  if (!topic) return undefined;
  return spell === TO_RUN ? `${command(topic)} (\`grit ${topic} --help\` lists its commands)` : command(topic, spell);
}

const nearest = (id: string, known: readonly string[], spell: Spelling = TO_RUN): string | undefined =>
  startingWith(id, known, spell) ?? underATopic(id, known, spell) ?? closest(id, known, spell);

/**
 * Up to three commands or topics that `id` names without their topic, as other trackers spell
 * them (`grit list` → `issue list` or `actor list`, `grit dep add` → `issue dep add`, `grit dep`
 * → `issue dep`): a command a few letters away (`grit dep` → `grit mcp`) is no plan for those.
 * The shallowest come first, and of those the `issue` topic's, which most lines are about; oclif's
 * own commands (`autocomplete create`) are no one's meaning.
 */
function underATopic(id: string, known: readonly string[], spell: Spelling): string | undefined {
  const hits = new Set<string>();
  for (const k of known) {
    if (k.startsWith('plugins:') || k.startsWith('autocomplete:')) continue;
    const at = `:${k}:`.indexOf(`:${id}:`);
    if (at > 0) hits.add(k.slice(0, at + id.length));
  }
  if (hits.size === 0) return undefined;
  const rank = (k: string) => k.split(':').length * 2 + (k.startsWith('issue:') ? 0 : 1);
  return [...hits]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .slice(0, 3)
    .map((k) => command(k, spell))
    .join(' or ');
}

/** Up to three commands that `id` is the start of (`issue assign` → `issue assignee add`, …). */
function startingWith(id: string, known: readonly string[], spell: Spelling): string | undefined {
  const hits = known.filter((k) => k.startsWith(id) && !k.startsWith('plugins:')).sort();
  if (hits.length === 0) return undefined;
  return hits
    .slice(0, 3)
    .map((k) => command(k, spell))
    .join(' or ');
}

/** The known command nearest to `id` by edit distance, if it is near enough to be a typo. */
function closest(id: string, known: readonly string[], spell: Spelling): string | undefined {
  const best = closestWord(id, known);
  return best && command(best, spell);
}
