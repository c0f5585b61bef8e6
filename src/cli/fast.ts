/**
 * The fast path: a plain command line (`grit issue list --json`, …) is parsed against the committed
 * oclif manifest and run without loading oclif, which is most of grit's start-up time. Anything
 * this parser is not sure about (help, unknown flags, missing values, bad options) returns false
 * and oclif takes over, so errors and help stay oclif's.
 */
import { readFileSync } from 'node:fs';
import { ACTIONS } from './actions.js';
import { GritError } from '../core/errors.js';
import { printError, runAction, type Parsed } from './output.js';
import { chooseOutput } from './output-format.js';

// For bin/grit.cjs, which loads nothing else before it runs a command.
export { guardStandardStreams } from '../core/std-streams.js';

interface ManifestFlag {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  multiple?: boolean;
  required?: boolean;
  options?: string[];
  default?: unknown;
  helpGroup?: string;
}

interface ManifestCommand {
  flags: Record<string, ManifestFlag>;
  args: Record<string, { required?: boolean; options?: string[] }>;
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

/**
 * `grit --json issue list`: the global flags (helpGroup GLOBAL: --json, -q, --no-daemon, --actor,
 * --data-dir) may come before the command, as `git -C` or `gh --repo` take theirs; they are moved
 * after the command's words, where this parser and oclif read them. Anything else first is left
 * as it is, for the command-not-found hook to explain. The same array when nothing moves.
 */
export function hoistGlobalFlags(argv: string[], commands: Record<string, ManifestCommand>): string[] {
  if (!argv[0]?.startsWith('-')) return argv;
  const globals = new Map<string, ManifestFlag>();
  for (const cmd of Object.values(commands)) {
    for (const f of Object.values(cmd.flags)) {
      if (f.helpGroup !== 'GLOBAL') continue;
      globals.set(`--${f.name}`, f);
      if (f.char) globals.set(`-${f.char}`, f);
    }
  }
  let n = 0;
  while (n < argv.length) {
    const eq = argv[n].startsWith('--') ? argv[n].indexOf('=') : -1;
    const flag = globals.get(eq === -1 ? argv[n] : argv[n].slice(0, eq));
    if (!flag) break;
    n += flag.type === 'option' && eq === -1 ? 2 : 1;
  }
  // No command after them (`grit --json`, `grit --json --version`): nothing to put them after.
  if (n === 0 || n >= argv.length || argv[n].startsWith('-')) return argv;
  const rest = argv.slice(n);
  const end = rest.includes('--') ? rest.indexOf('--') : rest.length;
  return [...rest.slice(0, end), ...argv.slice(0, n), ...rest.slice(end)];
}

/**
 * `grit db --json`, `grit --json`: a topic (or nothing) where a command belongs. oclif would print
 * its help, which a script that asked for JSON cannot read; this is the invalid_args it gets
 * instead, naming the commands there. (On a terminal without --json, oclif's help is the answer.)
 */
function reportMissingCommand(argv: string[], ids: string[]): boolean {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (words.length !== argv.length - 1) return false; // other flags: oclif says what is wrong with them
  const topic = words.join(':');
  const under = ids.filter((id) => topic === '' || id.startsWith(`${topic}:`));
  if (under.length === 0 || ids.includes(topic)) return false;
  const next = [...new Set(under.map((id) => id.split(':')[words.length]))].sort();
  const shown = ['grit', ...words].join(' ');
  printError(
    new GritError('invalid_args', `${shown} needs a command: ${next.join(', ')}`, {
      details: { commands: next.map((c) => `${shown} ${c}`) },
      suggestion: `run \`${shown} --help\` to see what each does`,
    }),
    true,
  );
  return true;
}

/** Runs the command line if it is a plain one; false means "let oclif handle it". */
export async function runFast(argv: string[], manifestPath: string): Promise<boolean> {
  let manifest: { version: string; commands: Record<string, ManifestCommand> };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return false;
  }
  if (argv[0] === '--version' && (argv.length === 1 || (argv.length === 2 && argv[1] === '--json'))) {
    // What oclif prints (its `config.userAgent`), which scripts may parse; under --json, the envelope.
    const userAgent = `grit/${manifest.version} ${process.platform}-${process.arch} node-${process.version}`;
    const data = { version: manifest.version, user_agent: userAgent };
    process.stdout.write(argv.length === 2 ? `${JSON.stringify({ schema_version: 1, ok: true, data })}\n` : `${userAgent}\n`);
    return true;
  }
  const commands = manifest.commands;
  const line = hoistGlobalFlags(argv, commands);
  // oclif, its hooks and its help read process.argv: they see the command line in the same order.
  if (line !== argv) process.argv.splice(2, Infinity, ...line);
  const parsed = parseArgv(line, commands);
  if (!parsed) return line.includes('--json') && reportMissingCommand(line, Object.keys(commands));
  const { action, json } = chooseOutput(ACTIONS[parsed.id], parsed);
  await runAction(action, parsed, json);
  return true;
}
