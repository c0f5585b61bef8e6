/**
 * The fast path: a plain command line (`grit issue list --json`, …) is parsed against the flags and
 * args of the committed oclif manifest (`fastManifest`) and run without loading oclif, which is
 * most of grit's start-up time. Anything this parser is not sure about (help, unknown flags,
 * missing values, bad options) returns false and oclif takes over, so errors and help stay oclif's.
 */
import { readFileSync } from 'node:fs';
import { ACTIONS } from './actions.js';
import { GritError } from '../core/errors.js';
import { printError, printSuccess, runAction, type Parsed } from './output.js';
import { argvWantsJson, chooseOutput } from './output-format.js';
import { switchWithValue } from './parse-error.js';
import { shellWord } from '../core/shell-word.js';

// For bin/grit.cjs, which loads nothing else before it runs a command.
export { guardStandardStreams } from '../core/std-streams.js';
export { prepareNativeAddons } from '../core/native-addons-env.js';

interface ManifestFlag {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  multiple?: boolean;
  required?: boolean;
  options?: readonly string[];
  default?: unknown;
  helpGroup?: string;
}

interface ManifestArg {
  required?: boolean;
  options?: readonly string[];
}

interface ManifestCommand {
  flags: Record<string, ManifestFlag>;
  args: Record<string, ManifestArg>;
}

/** What this parser reads of a manifest: oclif.manifest.json, or the part of it `fastManifest` keeps. */
export interface FastManifest {
  version: string;
  commands: Record<string, ManifestCommand>;
}

/** Keeps of `from` only the fields named in `keys` (absent ones stay absent). */
function pick<T extends object>(from: T, keys: readonly (keyof T)[]): T {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as T;
}

const FLAG_FIELDS: readonly (keyof ManifestFlag)[] = ['name', 'type', 'char', 'multiple', 'required', 'options', 'default', 'helpGroup'];
const ARG_FIELDS: readonly (keyof ManifestArg)[] = ['required', 'options'];
const map = <T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));

/**
 * The fast path's manifest (scripts/bundle.js writes it beside the start-up bundle): every command
 * of oclif.manifest.json with only what this parser reads, its flags and args. Every CLI run
 * parses it; the full manifest (descriptions, examples, ~117 KB) cost ~1-2 ms of each to read and
 * parse, and stays for oclif, its plugins and the docs.
 */
export function fastManifest(full: FastManifest): FastManifest {
  return {
    version: full.version,
    commands: map(full.commands, (c) => ({ flags: map(c.flags, (f) => pick(f, FLAG_FIELDS)), args: map(c.args, (a) => pick(a, ARG_FIELDS)) })),
  };
}

const BAIL = /^(--help|-h|--version|-v|help|version|--)$/;

export function parseArgv(argv: string[], commands: Record<string, ManifestCommand>): (Parsed & { id: string }) | null {
  let words = 0;
  while (words < argv.length && !argv[words].startsWith('-')) words++;
  let id = '';
  let used = 0;
  for (let n = words; n > 0; n--) {
    const candidate = argv.slice(0, n).join(':');
    if (commands[candidate] && ACTIONS[candidate]) {
      id = candidate;
      used = n;
      break;
    }
  }
  if (!id) return null;
  const cmd = commands[id];
  const byChar = new Map(Object.values(cmd.flags).filter((f) => f.char).map((f) => [f.char!, f]));
  const flags: Record<string, unknown> = {};
  const positional: string[] = [];
  const rest = argv.slice(used);
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i];
    if (BAIL.test(tok)) return null;
    let flag: ManifestFlag | undefined;
    let inline: string | undefined;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      flag = cmd.flags[eq === -1 ? tok.slice(2) : tok.slice(2, eq)];
      if (eq !== -1) inline = tok.slice(eq + 1);
    } else if (tok.length === 2 && tok[0] === '-' && tok !== '--') {
      flag = byChar.get(tok[1]);
    } else if (tok.startsWith('-') && tok !== '-') {
      return null;
    } else {
      positional.push(tok);
      continue;
    }
    if (!flag) return null;
    if (flag.type === 'boolean') {
      if (inline !== undefined || flags[flag.name] !== undefined) return null;
      flags[flag.name] = true;
      continue;
    }
    const value = inline ?? rest[++i];
    if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) return null;
    if (flag.options && !flag.options.includes(value)) return null;
    if (flag.multiple) flags[flag.name] = [...((flags[flag.name] as string[]) ?? []), value];
    else if (flags[flag.name] !== undefined) return null;
    else flags[flag.name] = value;
  }
  const argNames = Object.keys(cmd.args);
  if (positional.length > argNames.length) return null;
  const args: Record<string, unknown> = {};
  for (const [k, name] of argNames.entries()) {
    const spec = cmd.args[name];
    if (positional[k] === undefined) {
      if (spec.required) return null;
    } else if (spec.options && !spec.options.includes(positional[k])) return null;
    else args[name] = positional[k];
  }
  for (const f of Object.values(cmd.flags)) {
    if (flags[f.name] === undefined && f.default !== undefined) flags[f.name] = f.default;
    if (f.required && flags[f.name] === undefined) return null;
  }
  return { id, args, flags };
}

/** `flags` by each spelling (`--title`, `-t`). */
function bySpelling(flags: Iterable<ManifestFlag>): Map<string, ManifestFlag> {
  const spellings = new Map<string, ManifestFlag>();
  for (const f of flags) {
    spellings.set(`--${f.name}`, f);
    if (f.char) spellings.set(`-${f.char}`, f);
  }
  return spellings;
}

/** The global flags (helpGroup GLOBAL: --json, -q, --no-daemon, --no-pager, --actor, --data-dir) by each spelling. */
function globalFlags(commands: Record<string, ManifestCommand>): Map<string, ManifestFlag> {
  return bySpelling(Object.values(commands).flatMap((cmd) => Object.values(cmd.flags).filter((f) => f.helpGroup === 'GLOBAL')));
}

/** The flag of `flags` at `argv[i]` and how many words it takes (`--actor x`: 2), or null when it is none of them. */
function flagAt(argv: string[], i: number, flags: Map<string, ManifestFlag>): { flag: ManifestFlag; words: number } | null {
  const eq = argv[i].startsWith('--') ? argv[i].indexOf('=') : -1;
  const flag = flags.get(eq === -1 ? argv[i] : argv[i].slice(0, eq));
  return flag ? { flag, words: flag.type === 'option' && eq === -1 ? 2 : 1 } : null;
}

/**
 * The leading words of a command line (the command's name, maybe its arguments) by their index,
 * read past the global flags among them with their values (`issue --actor create close`: `issue`,
 * `close`), and `end`, where the first other flag is (or the line's length).
 */
function leadingWords(argv: string[], globals: Map<string, ManifestFlag>): { words: number[]; end: number } {
  const words: number[] = [];
  let i = 0;
  while (i < argv.length) {
    const g = argv[i].startsWith('-') ? flagAt(argv, i, globals) : null;
    if (argv[i].startsWith('-') && !g) break;
    if (!g) words.push(i);
    i += g?.words ?? 1;
  }
  return { words, end: Math.min(i, argv.length) };
}

/** How many of `words` name a command (`issue dep add <id>`: 3), the most that do; 0 when none does. */
function commandLength(words: string[], commands: Record<string, ManifestCommand>): number {
  let n = words.length;
  while (n > 0 && !commands[words.slice(0, n).join(':')]) n--;
  return n;
}

/**
 * `grit --json issue list`, `grit issue --json list`: the global flags may come before the
 * command or among its words, as `git -C` or `gh --repo` take theirs; they are moved right after
 * the command's name, where this parser and oclif read them. When the words name no command of
 * grit's (a plugin's, an unknown one, a topic), they go after all the leading words, for oclif,
 * the command-not-found hook or reportMissingCommand to read. Anything else first is left as it
 * is, for the hook to explain. The same array when nothing moves.
 */
export function hoistGlobalFlags(argv: string[], commands: Record<string, ManifestCommand>): string[] {
  const { words } = leadingWords(argv, globalFlags(commands));
  const typed = words.map((i) => argv[i]);
  const n = commandLength(typed, commands) || words.length;
  // The name's words come first with nothing between them: nothing to move.
  if (n === 0 || words[n - 1] === n - 1) return argv;
  const name = new Set(words.slice(0, n));
  const last = words[n - 1];
  return [...typed.slice(0, n), ...argv.slice(0, last).filter((_, i) => !name.has(i)), ...argv.slice(last + 1)];
}

/**
 * `grit --version`, with the global flags that can mean something there before or after it
 * (`grit --json --version`: the envelope; -q, --no-daemon and --no-pager hold, as it prints
 * nothing but the version it was asked for and uses no daemon or pager). Null when the line is
 * not about the version (a command comes first); anything else on the line is refused rather than
 * ignored (`grit --version extra`).
 */
export function versionLine(argv: string[], commands: Record<string, ManifestCommand>): { json: boolean } | GritError | null {
  if (!argv.includes('--version')) return null;
  const globals = globalFlags(commands);
  const taken = new Set<string>();
  const extra: string[] = [];
  let version = false;
  for (let i = 0; i < argv.length; ) {
    const g = flagAt(argv, i, globals);
    if (argv[i] === '--version' && !version) version = true;
    else if (!version && !g) return null;
    else if (g?.flag.type === 'boolean' && argv[i].includes('=')) return switchWithValue(g.flag.name, argv[i].slice(argv[i].indexOf('=') + 1));
    else if (g?.flag.type === 'boolean') taken.add(g.flag.name);
    else extra.push(...argv.slice(i, i + (g?.words ?? 1)));
    i += g?.words ?? 1;
  }
  if (!version) return null;
  if (extra.length > 0) {
    return new GritError('invalid_args', `\`grit --version\` takes no arguments: ${extra.join(' ')}`, {
      details: { arguments: extra },
      suggestion: 'run `grit --version` alone, or with --json for the JSON form',
    });
  }
  return { json: taken.has('json') };
}

/**
 * `grit db --json`, `grit --json`, `grit --no-daemon`: a topic (or nothing) where a command
 * belongs. oclif would print its help, which a script that asked for JSON cannot read; this is the
 * invalid_args it gets instead, naming the commands there. Without --json, oclif's help (exit 0)
 * is the answer for a topic and for a bare `grit` alike, as oclif, gh and cargo answer; global
 * flags with nothing after them get this error, as they were given for a command. A topic followed
 * by a command's own flag (`grit issue --title x create`) is this error too, under --json or not:
 * oclif would print the topic's help and exit 0 with nothing run. `commands`: grit's, or (from
 * oclif-run.ts) those of every plugin too, whose topics the fast path does not know. True when it
 * reported the line.
 */
export function reportMissingCommand(argv: string[], commands: Record<string, ManifestCommand>): boolean {
  const { words, end } = leadingWords(argv, globalFlags(commands));
  const typed = words.map((i) => argv[i]);
  const flag: string | undefined = argv[end];
  // Help and the version are oclif's to read; `--` after a topic ends its words too early.
  if (flag !== undefined && flag !== '--' && BAIL.test(flag)) return false;
  const json = argvWantsJson(argv);
  if (flag === undefined && !json && (words.length > 0 || argv.length === 0)) return false;
  const ids = Object.keys(commands);
  const topic = typed.join(':');
  const under = ids.filter((id) => topic === '' || id.startsWith(`${topic}:`));
  if (under.length === 0) return false;
  const reordered = flag === undefined ? null : commandFirst(argv, words, end, commands);
  if (reordered) {
    printError(flagBeforeName(flag!, reordered, commandLength(reordered, commands)), json);
    return true;
  }
  // A command that is also a topic (`snapshot --keep 3`): oclif names the flag it does not take.
  // A flag before any word: the command-not-found hook does.
  if (ids.includes(topic) || (flag !== undefined && topic === '')) return false;
  const next = [...new Set(under.map((id) => id.split(':')[words.length]))].sort();
  const shown = ['grit', ...typed].join(' ');
  const help = `\`${shown} --help\``;
  printError(
    new GritError('invalid_args', `${shown} needs a command${flag === undefined ? '' : ` before ${flag}`}: ${next.join(', ')}`, {
      details: { commands: next.map((c) => `${shown} ${c}`), ...(flag === undefined ? {} : { flag }) },
      suggestion: flag === undefined ? `run ${help} to see what each does` : `give the command first and its flags after it (${help} says what each does)`,
    }),
    json,
  );
  return true;
}

/**
 * `grit issue --title x create`, with the words of the command's name first: the first later run
 * of words that completes the name of a command whose flags take every token in between (`--title
 * x`), so that a flag's value that is also a command's word (`--title list create`) is read as the
 * value. Null when no later word completes such a name.
 */
function commandFirst(argv: string[], words: number[], end: number, commands: Record<string, ManifestCommand>): string[] | null {
  const topic = words.map((i) => argv[i]);
  const stop = argv.includes('--') ? argv.indexOf('--') : argv.length;
  for (let j = end + 1; j < stop; j++) {
    let run = 0;
    while (j + run < stop && !argv[j + run].startsWith('-')) run++;
    const n = commandLength([...topic, ...argv.slice(j, j + run)], commands) - topic.length;
    if (n <= 0 || !takesAll(argv.slice(end, j), commands[[...topic, ...argv.slice(j, j + n)].join(':')])) continue;
    const name = new Set([...words, ...Array.from({ length: n }, (_, k) => j + k)]);
    return [...topic, ...argv.slice(j, j + n), ...argv.filter((_, i) => !name.has(i))];
  }
  return null;
}

/** Whether `tokens` are flags of `cmd` and their values, each whole. */
function takesAll(tokens: string[], cmd: ManifestCommand): boolean {
  const flags = bySpelling(Object.values(cmd.flags));
  let i = 0;
  for (let f; i < tokens.length && (f = flagAt(tokens, i, flags)); ) i += f.words;
  return i === tokens.length;
}

/** `flag` given among the words of a command's name; `line`, the command line with the `words` words of its name first. */
function flagBeforeName(flag: string, line: string[], words: number): GritError {
  const name = line.slice(0, words).join(' ');
  return new GritError('invalid_args', `${flag} is given before the command's name ends: \`grit ${name}\` takes its flags after its name`, {
    details: { flag, command: name },
    suggestion: `run \`grit ${line.map(shellWord).join(' ')}\``,
  });
}

/** Runs the command line if it is a plain one; false means "let oclif handle it". */
export async function runFast(argv: string[], manifestPath: string): Promise<boolean> {
  let manifest: FastManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return false;
  }
  const commands = manifest.commands;
  const version = versionLine(argv, commands);
  if (version instanceof GritError) printError(version, argvWantsJson(argv));
  else if (version) {
    // What oclif prints (its `config.userAgent`), which scripts may parse; under --json, the envelope.
    const userAgent = `grit/${manifest.version} ${process.platform}-${process.arch} node-${process.version}`;
    const data = { version: manifest.version, user_agent: userAgent };
    printSuccess(data, version.json, false, () => userAgent);
  }
  if (version) return true;
  const line = hoistGlobalFlags(argv, commands);
  // oclif, its hooks and its help read process.argv: they see the command line in the same order.
  if (line !== argv) process.argv.splice(2, Infinity, ...line);
  const parsed = parseArgv(line, commands);
  if (!parsed) return reportMissingCommand(line, commands);
  const { action, json } = chooseOutput(ACTIONS[parsed.id], parsed);
  await runAction(action, parsed, json);
  return true;
}
