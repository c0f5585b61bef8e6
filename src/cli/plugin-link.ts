/**
 * `grit plugins link <dir>`: oclif links whatever is there and says "done". A plugin linked before
 * it was built, or before its dependencies were installed, has no commands or cannot load them,
 * and its author would learn of it only from an "unknown command" later. grit says so when the
 * link is done, in one line each; oclif's own Node warnings for every command module it could not
 * import (`ModuleLoadError`, with oclif's internals) are kept from the terminal.
 */
import { resolve } from 'node:path';
import { Plugin } from '@oclif/core';
import { visible } from '../core/terminal-safe.js';
import { installHint, missingPackage, oneLineOf, unbuilt, unbuiltNote, type PluginInternals } from './plugin-loading.js';
import { linkedPath } from './plugin-paths.js';

/** A command module of the linked plugin that oclif could not import while it linked it. */
interface LoadFailure {
  plugin: string;
  root: string;
  command: string;
  error: unknown;
}

type Warn = (this: PluginInternals, err: unknown, scope?: string) => void;

/**
 * Starts watching the link of the directory the command's words (`args`) name. The function it
 * returns ends the watch and, after a link that succeeded, prints what the plugin lacks.
 */
export function watchLink(args: string[]): (linked: boolean) => Promise<void> {
  const failed: LoadFailure[] = [];
  const proto = Plugin.prototype as unknown as { warn: Warn };
  const warn = proto.warn;
  // oclif imports every command of the plugin it links and warns for each that fails, scoped
  // `findCommand (<id>)`; any other warning is oclif's to give.
  proto.warn = function (err, scope) {
    const command = /^findCommand \((.*)\)$/.exec(scope ?? '')?.[1];
    if (command === undefined) return warn.call(this, err, scope);
    failed.push({ plugin: this.name, root: this.root, command, error: err });
  };
  return async (linked) => {
    proto.warn = warn;
    if (!linked) return;
    const lines = [...loadWarnings(failed), ...(await unbuiltWarning(resolve(linkedPath(args))))];
    for (const line of lines) process.stderr.write(`grit: warning: ${visible(line)}\n`);
  };
}

/** One line per plugin and cause: a missing dependency fails every command alike. */
function loadWarnings(failed: LoadFailure[]): string[] {
  const byCause = new Map<string, { plugin: string; cause: string; commands: string[] }>();
  for (const f of failed) {
    const pkg = missingPackage(f.error);
    const cause = pkg ? `it cannot find the package ${pkg}; ${installHint(f.root)}` : oneLineOf(f.error);
    const key = JSON.stringify([f.plugin, cause]);
    const group = byCause.get(key) ?? { plugin: f.plugin, cause, commands: [] };
    group.commands.push(`\`grit ${f.command.replaceAll(':', ' ')}\``);
    byCause.set(key, group);
  }
  // Sorted: oclif imports the modules all at once, so they fail in no set order.
  return [...byCause.values()].map((g) => `the plugin ${g.plugin} cannot load ${g.commands.sort().join(', ')}: ${g.cause}`);
}

/** The linked plugin read as later command lines read it (its commands listed, none imported). */
async function unbuiltWarning(root: string): Promise<string[]> {
  const plugin = new Plugin({ root, type: 'link' });
  await plugin.load();
  const missing = unbuilt(plugin as unknown as PluginInternals);
  return missing ? [unbuiltNote(missing)] : [];
}
