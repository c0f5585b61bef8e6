/**
 * oclif's parse errors as grit reports them: `invalid_args` with a one-line message. Free of oclif,
 * so the API (src/cli/plugin-output.ts) can map a plugin's parse errors without loading it.
 */
import { stripVTControlCharacters } from 'node:util';
import { cutText, GritError, quoted } from '../core/errors.js';
import { shellQuoted } from '../core/shell-word.js';
import { closestWord } from './spelling.js';

/** What a parse error's hint is about: the command, its flags, and the global flags it refuses and why. */
export interface ParsedCommand {
  id: string;
  /** The names of the flags it takes (without `--`). */
  flags: string[];
  /** Of those, the ones that take no value (boolean flags). */
  switches: string[];
  /** The values a flag takes, for those that take only some (`--type`: blocks, …). */
  choices?: Record<string, readonly string[]>;
  /** The names of its required arguments, in order (for an example line). */
  required?: string[];
  /** The names of all its arguments, in order. */
  args?: string[];
  /**
   * The flag an unexpected word was most likely meant for (`issue comment <id> hello`: body): of
   * its flags not on the command line, the first required one that takes free text (no fixed
   * choices), else --body.
   */
  textFlag?: string;
  refusedGlobals?: { spellings: string[]; why: string };
}

/** A command as oclif makes it, by shape (this module is free of oclif): a plugin's too. */
export interface CommandLike {
  id?: string;
  /** The words after the command's name. */
  argv?: readonly string[];
}

/** A flag as a command class or a manifest declares it, by shape. */
export interface FlagLike {
  type?: string;
  options?: readonly string[];
  required?: boolean;
  char?: string;
}

/** The id of `command` and the flags it takes (its class's `flags` and `baseFlags`). */
export function describeCommand(command: CommandLike): ParsedCommand {
  const ctor = command.constructor as { flags?: Record<string, FlagLike>; baseFlags?: Record<string, FlagLike>; args?: Record<string, { required?: boolean }> };
  return {
    ...describeFlags(command.id ?? '', { ...ctor.baseFlags, ...ctor.flags }, command.argv),
    required: Object.entries(ctor.args ?? {}).filter(([, a]) => a?.required).map(([name]) => name),
    args: Object.keys(ctor.args ?? {}),
  };
}

/** A command's `id` and its flags by name (a class's, or those of oclif's manifest), `argv` the words after its name. */
export function describeFlags(id: string, byName: Record<string, FlagLike>, argv: readonly string[] = []): ParsedCommand {
  const flags = Object.entries(byName);
  const given = (name: string, f: FlagLike) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || (f.char !== undefined && a === `-${f.char}`));
  // The global flags are never required nor named body: only a command's own flag is ever the one.
  const texts = flags.filter(([name, f]) => f?.type === 'option' && !Array.isArray(f.options) && !given(name, f));
  return {
    id,
    flags: flags.map(([name]) => name),
    switches: flags.filter(([, f]) => f?.type === 'boolean').map(([name]) => name),
    choices: Object.fromEntries(flags.filter(([, f]) => Array.isArray(f?.options)).map(([name, f]) => [name, f.options!])),
    textFlag: (texts.find(([, f]) => f.required) ?? texts.find(([name]) => name === 'body'))?.[0],
  };
}


/**
 * A value given to a flag that takes none (`--json=true`, `--no-daemon=yes`). oclif reads the
 * value as a stray argument ("Unexpected argument: true"), which names neither the flag nor the
 * mistake, or, on a command with an optional argument, silently takes it for that argument.
 */
export function switchWithValue(flag: string, value: string): GritError {
  return new GritError('invalid_args', `--${flag} is a switch and takes no value (got --${flag}=${cutText(value)})`, {
    details: { flag: `--${flag}`, value },
    suggestion: `give --${flag} alone to turn it on, or leave it out`,
  });
}

/** The first `--flag=value` on the command line (before `--`) whose flag is one of `switches`, as that error. */
export function findSwitchWithValue(argv: readonly string[], switches: readonly string[]): GritError | null {
  const end = argv.indexOf('--');
  for (const token of end === -1 ? argv : argv.slice(0, end)) {
    const eq = token.indexOf('=');
    if (token.startsWith('--') && eq !== -1 && switches.includes(token.slice(2, eq))) return switchWithValue(token.slice(2, eq), token.slice(eq + 1));
  }
  return null;
}

/**
 * The first long flag written with one dash (`-title x`, `-state open`), as Go's flag package and
 * `find` take them: oclif reads `-title` as `-t` with the value `itle`, so `issue create -title`
 * created an issue titled "itle" and `-state open` was "got tate". Only a word that is one of the
 * command's flag names after its dash, and not a flag's value (`--body -title`).
 */
export function findSingleDashLongFlag(argv: readonly string[], byName: Record<string, FlagLike | undefined>): GritError | null {
  const end = argv.indexOf('--');
  const options = new Set(Object.entries(byName).filter(([, f]) => f?.type === 'option').flatMap(([name, f]) => [`--${name}`, ...(f?.char ? [`-${f.char}`] : [])]));
  const words = end === -1 ? argv : argv.slice(0, end);
  for (let i = 0; i < words.length; i++) {
    if (i > 0 && options.has(words[i - 1])) continue;
    const name = /^-([a-z][a-z-]+)(?:=|$)/.exec(words[i])?.[1];
    if (name && byName[name]) {
      const short = Object.values(byName).some((f) => f?.char === name[0] && f.type === 'option');
      const read = short ? `is read as -${name[0]} with the value ${JSON.stringify(words[i].slice(2))}` : 'is no flag';
      return new GritError('invalid_args', `-${name} ${read}: a long flag takes two dashes`, {
        details: { flag: words[i], did_you_mean: `--${name}` },
        suggestion: `did you mean --${name}?`,
      });
    }
  }
  return null;
}

/**
 * Whatever oclif's parser refuses (unknown flag, missing argument, a value out of range) is
 * invalid_args. With the command known, it is said in grit's words, as the command functions
 * say theirs (`--title is required`), and the hint fits the mistake: a global flag this command
 * does not take says why, a misspelt flag names the nearest one, a missing flag or argument is
 * named with an example.
 */
export function fromParseError(err: unknown, command?: ParsedCommand): GritError {
  if (err instanceof GritError) return err;
  const message = oneLine((err as Error)?.message ?? '');
  if (!command) return new GritError('invalid_args', message, { suggestion: 'run the command with --help to see its flags' });
  const hinted = hintFor(err as OclifParseError, command);
  if (!hinted) return new GritError('invalid_args', message, { suggestion: `run \`grit ${spaced(command.id)} --help\` to see what it takes` });
  return hintedError(hinted, message, command);
}

function hintedError(hint: Hint, message: string, command: ParsedCommand): GritError {
  return new GritError('invalid_args', hint.message ?? message, { details: hint.details, suggestion: `${hint.suggestion} (\`grit ${spaced(command.id)} --help\` says what it takes)` });
}

/**
 * Words after a command that it takes no argument for: oclif's "Unexpected argument", and the
 * command-not-found hook's words past the name of a command that takes no argument at all (oclif
 * reads `grit issue create hello` as the command `issue:create:hello`).
 */
export const unexpectedArguments = (extra: string[], command: ParsedCommand): GritError => hintedError(unexpected(extra, command), '', command);

/** The fields of oclif's parse errors read here (NonExistentFlagsError, RequiredArgsError), by shape: this module is free of oclif. */
interface OclifParseError {
  message?: string;
  flags?: unknown;
  args?: unknown;
}

const spaced = (id: string): string => id.replaceAll(':', ' ');

type Hint = { message?: string; details: Record<string, unknown>; suggestion: string };

function hintFor(err: OclifParseError, command: ParsedCommand): Hint | null {
  const shown = `grit ${spaced(command.id)}`;
  const message = stripVTControlCharacters(err.message ?? '');
  if (Array.isArray(err.flags) && typeof err.flags[0] === 'string') {
    const flag = err.flags[0];
    const refused = command.refusedGlobals;
    if (refused?.spellings.includes(flag)) {
      return { message: `\`${shown}\` does not take ${flag}: ${refused.why}`, details: { flag }, suggestion: `leave ${flag} out` };
    }
    const unknown = `unknown flag${err.flags.length === 1 ? '' : 's'} for \`${shown}\`: ${err.flags.join(', ')}`;
    const near = flag.startsWith('--') ? closestWord(flag.slice(2).split('=')[0], command.flags) : undefined;
    if (near) return { message: unknown, details: { flag, did_you_mean: `--${near}` }, suggestion: `did you mean --${near}?` };
    // A text argument may start with `-` (`context set test.flags -v`): "leave it out" alone
    // left no way to give it.
    const args = command.args ?? [];
    const asArgument = args.some((name) => name !== 'id') ? `, or, if it is an argument, put -- before the arguments: \`${shown} -- ${args.map((a) => `<${a}>`).join(' ')}\`` : '';
    return { message: unknown, details: { flag }, suggestion: `leave it out${asArgument}` };
  }
  if (Array.isArray(err.args) && /^Missing \d+ required arg/.test(message)) {
    // Worded as a missing flag is (`--resource is required`), not as oclif's "Missing 1 required arg".
    const names = err.args.map((a: { name?: string }) => `<${a.name}>`);
    return { message: `${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} required`, details: { missing: names }, suggestion: `give ${names.join(' ')} after \`${shown}\`` };
  }
  if (Array.isArray(err.args) && /^Unexpected arguments?:/.test(message)) return unexpected(err.args.map(String), command);
  return flagHint(message, command, shown, err.message ?? '');
}

function unexpected(extra: string[], command: ParsedCommand): Hint {
  const meant = meantAs(extra.join(' '), command);
  return {
    message: `unexpected argument for \`grit ${spaced(command.id)}\`: ${extra.join(' ')}`,
    details: { command: spaced(command.id), arguments: extra, ...(meant ? { did_you_mean: meant.flag } : {}) },
    suggestion: meant ? `did you mean ${meant.flag} ${meant.value}?` : 'leave it out, or quote a value that has spaces',
  };
}

/**
 * The flag whose value words that the command takes no argument for were likely meant as: one
 * whose choices they are (`export md`: --format md), else the command's text flag (`issue comment
 * <id> hello`: --body "hello", quoted, as a person would have typed it).
 */
function meantAs(words: string, command: ParsedCommand): { flag: string; value: string } | null {
  const choice = Object.entries(command.choices ?? {}).find(([, values]) => values.includes(words));
  if (choice) return { flag: `--${choice[0]}`, value: words };
  return command.textFlag ? { flag: `--${command.textFlag}`, value: shellQuoted(words) } : null;
}

/**
 * oclif's flag errors that carry only a message (FailedFlagValidationError, FlagInvalidOptionError,
 * a flag given twice), read from it; `raw` is that message before its styling was stripped.
 */
function flagHint(message: string, command: ParsedCommand, shown: string, raw: string): Hint | null {
  const example = (flag: string) => `--${flag} ${command.choices?.[flag]?.[0] ?? '"…"'}`;
  const missing = [...message.matchAll(/Missing required flag (\S+)/g)].map((m) => m[1]);
  if (missing.length) {
    const flags = missing.map((f) => `--${f}`);
    return {
      message: `${flags.join(' and ')} ${flags.length === 1 ? 'is' : 'are'} required`,
      details: { missing: flags },
      suggestion: `for example \`${[shown, ...(command.required ?? []).map((a) => `<${a}>`), ...missing.map(example)].join(' ')}\``,
    };
  }
  // The value as given, read from the unstripped message (oclif styles nothing in this one):
  // stripped, `--state $'\e[31mo'` was "got o", naming a value no one gave. It is shown escaped
  // on a terminal (output.ts), as any text is; one with a line break is quoted, to keep one line.
  const choice = /Expected --([\w-]+)=([\s\S]*) to be one of: (.*)/.exec(raw);
  if (choice) {
    const [, flag, value, allowed] = choice;
    return { message: `--${flag} must be one of ${allowed} (got ${/[\r\n]/.test(value) ? quoted(value) : cutText(value)})`, details: { flag: `--${flag}`, value, allowed: allowed.split(', ') }, suggestion: `for example ${example(flag)}` };
  }
  // Nothing after the flag, or another flag: a value that starts with `-` needs `--flag=-x`.
  const bare = /Flag --([\w-]+) expects (?:a value|one of these values: (.*))/.exec(message);
  if (bare) {
    const [, flag, allowed] = bare;
    return {
      message: `--${flag} needs a value${allowed ? ` (one of ${allowed})` : ''}`,
      details: { flag: `--${flag}`, ...(allowed ? { allowed: allowed.split(', ') } : {}) },
      suggestion: `for example ${example(flag)}${allowed ? '' : `; a value that starts with - goes as --${flag}=-…`}`,
    };
  }
  const twice = /Flag --([\w-]+) can only be specified once/.exec(message);
  if (twice) {
    return { message: `--${twice[1]} was given more than once; it takes one value`, details: { flag: `--${twice[1]}` }, suggestion: `give --${twice[1]} once` };
  }
  return null;
}

/**
 * oclif's messages are several lines: a heading ("The following error occurred:", "Missing 1
 * required arg:"), the detail, then "See more help with --help". The detail is what matters.
 * On a terminal oclif styles them too; an error is data (a JSON message, or grit's own styling).
 */
function oneLine(message: string): string {
  const lines = stripVTControlCharacters(message)
    .replace(/\s*\n\t/g, ': ')
    .split('\n')
    // "id  issue id or …": an argument's name and its description; --help has the description.
    .map((l) => l.trim().replace(/^(\S+)\s{2,}.+$/, '$1').replace(/\s+/g, ' '))
    .filter((l) => l && l !== 'The following error occurred:' && !l.startsWith('See more help'));
  return lines.reduce((out, l) => (!out ? l : out.endsWith(':') ? `${out} ${l}` : `${out}; ${l}`), '') || 'invalid arguments';
}
