/**
 * How grit loads user plugins (installed or linked) on the oclif path. oclif imports every command
 * module of a plugin that has no `oclif.manifest.json` (every linked one) just to list its
 * commands, so a plugin's load-time output or a module that throws would reach any command line
 * oclif handles, grit's own mistakes and help included. Here such a plugin's commands are listed
 * from their file names, and a command module is imported only when that command runs or its own
 * help is asked for (docs/plugins.md "What a plugin can and cannot change").
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Config, Plugin, type Command, type Interfaces } from '@oclif/core';
import { GritError } from '../core/errors.js';

/** The parts of oclif's Plugin used here that its typings keep private. */
export interface PluginInternals {
  options: Interfaces.PluginOptions;
  type: string;
  root: string;
  name: string;
  alias: string;
  version: string;
  commandIDs: string[];
  commandDiscoveryOpts?: { strategy?: string; target?: string };
  load(): Promise<void>;
  _manifest(): Promise<Interfaces.Manifest>;
  getCommandIDs(): Promise<string[]>;
}

/** A user plugin that could not be read at all (a broken package.json, a missing directory). */
export interface PluginFailure {
  plugin: string;
  message: string;
}

/**
 * A linked plugin that was read but whose commands are not where its package.json says (its
 * `oclif.commands`): typically a TypeScript plugin linked before it was built.
 */
export interface UnbuiltPlugin {
  plugin: string;
  root: string;
  /** The missing commands directory (or index module), absolute. */
  commands: string;
}

const failures: PluginFailure[] = [];

/** The first words of grit's own commands (`issue`, `lock`, `doctor`, …). */
let gritWords = new Set<string>();

/** Linked plugins, which their authors build in place; an installed one came built from npm. */
let linkedPlugins: PluginInternals[] = [];

/** The user plugins that failed to load in this process. */
export const pluginFailures = (): readonly PluginFailure[] => failures;

/** The linked plugins loaded in this process that have no commands to offer. */
export const unbuiltPlugins = (): UnbuiltPlugin[] => linkedPlugins.map(unbuilt).filter((u) => u !== undefined);

/** A mistake in one of grit's own commands (`issue lst`), whose error no plugin must change. */
const isGritWord = (id: string): boolean => gritWords.has(id.split(':')[0]);

/** The plugin failures that may explain an unknown command. */
export const failuresExplaining = (id: string): readonly PluginFailure[] => (isGritWord(id) ? [] : failures);

/** The unbuilt plugins that may explain an unknown command. */
export const unbuiltExplaining = (id: string): UnbuiltPlugin[] => (isGritWord(id) ? [] : unbuiltPlugins());

/** Where `p` lists its commands, when nothing is there. oclif reads that path from the plugin's root. */
export function unbuilt(p: Pick<PluginInternals, 'name' | 'root' | 'commandDiscoveryOpts'>): UnbuiltPlugin | undefined {
  const target = p.commandDiscoveryOpts?.target;
  if (!target) return undefined;
  const commands = isAbsolute(target) ? target : join(p.root, target);
  return existsSync(commands) ? undefined : { plugin: p.name, root: p.root, commands };
}

export const unbuiltNote = (u: UnbuiltPlugin): string =>
  `the plugin ${u.plugin} has no commands: ${u.commands} does not exist; build it first (e.g. \`npm run build\` in ${u.root})`;

/** The package a plugin's module could not import (`@oclif/core`), when that is why it failed: its dependencies are not installed. */
export function missingPackage(err: unknown): string | undefined {
  // Node's words for a bare specifier it cannot resolve (import and require); a missing file of the plugin's own is another matter.
  return /Cannot find (?:package|module) '([^'./][^']*)'/.exec(String((err as Error)?.message ?? err))?.[1];
}

export const installHint = (root: string): string => `install the plugin's dependencies: \`npm install\` in ${root}`;

const PLACEHOLDER = Symbol('grit.placeholderCommand');

const isUserPlugin = (type: string): boolean => type === 'user' || type === 'link';

/** Listed from its file name: its module has not been imported, so its flags and text are unknown. */
const isPlaceholder = (cmd: Command.Loadable): boolean => PLACEHOLDER in cmd;

function listsByFileName(p: PluginInternals): boolean {
  return (
    isUserPlugin(p.type) &&
    p.commandDiscoveryOpts?.strategy === 'pattern' &&
    !existsSync(join(p.root, 'oclif.manifest.json')) &&
    !existsSync(join(p.root, '.oclif.manifest.json'))
  );
}

/** oclif's own manifest builder (imports every command of the plugin), kept for help. */
let eagerManifest: ((p: PluginInternals) => Promise<Interfaces.Manifest>) | undefined;

/**
 * Changes oclif's Plugin (the one class every config of this process uses) so that user plugins
 * without a manifest list their commands from the file names (oclif's own glob, no import), and a
 * plugin that fails to load is named by its directory rather than by the CLI that loads it.
 */
function installLazyLoading(): void {
  if (eagerManifest) return;
  const proto = Plugin.prototype as unknown as PluginInternals;
  const eager = proto._manifest;
  eagerManifest = (p) => eager.call(p);
  const load = proto.load;
  proto._manifest = async function (this: PluginInternals) {
    if (!listsByFileName(this)) return eager.call(this);
    this.commandIDs = await this.getCommandIDs();
    const commands = Object.fromEntries(this.commandIDs.map((id) => [id, placeholder(this, id)]));
    return { version: this.version, commands } as Interfaces.Manifest;
  };
  proto.load = async function (this: PluginInternals) {
    try {
      await load.call(this);
    } catch (err) {
      if (!isUserPlugin(this.options.type ?? '')) throw err;
      const plugin = this.options.type === 'link' ? this.options.root : this.options.name;
      throw Object.assign(new Error(`${plugin}: ${(err as Error).message}`), { gritPlugin: plugin, gritMessage: (err as Error).message });
    }
  };
}

function placeholder(p: PluginInternals, id: string): Command.Cached {
  return {
    id,
    pluginName: p.name,
    pluginAlias: p.alias,
    pluginType: p.type,
    aliases: [],
    hiddenAliases: [],
    args: {},
    flags: {},
    hidden: false,
    // oclif reads the words after a command with arguments as those arguments, not as more of
    // the command's name: a placeholder may have arguments (`grit greet bob`).
    strict: false,
    summary: `from the plugin ${p.name} (\`--help\` on it says more)`,
    [PLACEHOLDER]: true,
  } as Command.Cached;
}

/**
 * oclif's config with the user plugins, loaded lazily. Their failures are kept (pluginFailures)
 * instead of printed as warnings on every command line.
 */
export async function loadWithUserPlugins(root: string): Promise<Config> {
  installLazyLoading();
  const config = new Config({ root });
  (config as unknown as { warn: (err: unknown) => void }).warn = (err) => {
    const e = err as { gritPlugin?: string; gritMessage?: string; message?: string };
    failures.push({ plugin: e.gritPlugin ?? 'a plugin', message: e.gritMessage ?? e.message ?? String(err) });
  };
  await stdoutToStderr(() => config.load());
  linkedPlugins = config.getPluginsList().filter((p) => p.type === 'link') as unknown as PluginInternals[];
  gritWords = new Set((config.plugins.get(config.name)?.commandIDs ?? []).map((id) => id.split(':')[0]));
  return config;
}

/**
 * Runs `load` with what is written to stdout sent to stderr. Listing a plugin's commands imports
 * its index module (oclif's `explicit` strategy), and what that prints is no command's output: on
 * stdout it would break the one JSON object of a `--json` line, or open the root help.
 */
async function stdoutToStderr<T>(load: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await load();
  } finally {
    process.stdout.write = write;
  }
}

/** Keeps the user plugins' hooks from running, but those of `owner`: a plugin's hooks run only for its own commands. */
export function withoutUserHooks(config: Config, owner?: string): void {
  for (const p of config.getPluginsList()) if (isUserPlugin(p.type) && p.name !== owner) p.hooks = {};
}

export const isUserCommand = (cmd: Command.Loadable | undefined): cmd is Command.Loadable => isUserPlugin(cmd?.pluginType ?? '');

/**
 * A plugin command whose module throws on import (or misses a dependency) fails with a GritError
 * naming the plugin, not oclif's "command not found". Its module is still imported where oclif
 * imports it (after the init hooks).
 */
export function reportLoadFailures(cmd: Command.Loadable, config: Interfaces.Config): void {
  const load = cmd.load;
  cmd.load = () => importing(cmd, load, config);
}

async function importing(cmd: Command.Loadable, load: () => Promise<Command.Class>, config: Interfaces.Config): Promise<Command.Class> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof GritError) throw err;
    const plugin = config.plugins.get(cmd.pluginName ?? '');
    const shown = `grit ${cmd.id.replaceAll(':', ' ')}`;
    const fix = plugin && missingPackage(err) ? installHint(plugin.root) : `fix the plugin${plugin ? ` in ${plugin.root}` : ''}`;
    throw new GritError('internal_error', `the plugin ${cmd.pluginName} could not load \`${shown}\`: ${oneLineOf(err)}`, {
      details: { command: cmd.id.replaceAll(':', ' '), plugin: cmd.pluginName, root: plugin?.root },
      suggestion: `${fix}, or remove it: \`grit plugins unlink ${cmd.pluginName}\``,
    });
  }
}

export const oneLineOf = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0];

/** A placeholder as oclif's help shows a command: the plugin's manifest built by oclif itself. */
export async function forHelp(cmd: Command.Loadable, config: Interfaces.Config): Promise<Command.Loadable> {
  if (!isPlaceholder(cmd)) return cmd;
  await importing(cmd, cmd.load, config);
  const plugin = config.plugins.get(cmd.pluginName ?? '') as unknown as PluginInternals;
  const cached = eagerManifest && (await eagerManifest(plugin)).commands[cmd.id];
  return cached ? { ...cached, load: cmd.load, pluginType: cmd.pluginType, pluginAlias: cmd.pluginAlias } : cmd;
}
