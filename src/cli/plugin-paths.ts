/**
 * The directory a `grit plugins install` or `grit plugins link` command line names, checked before
 * oclif sees it: oclif's install would read `./dir` as a GitHub repository and wait on the network,
 * and its link answers a wrong path with its own internal text (`could not find package.json with
 * { isRoot: true, … }`). Both are grit's errors instead (docs/plugins.md).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { GritError } from '../core/errors.js';
import { shellWord } from '../core/shell-word.js';

export const INSTALL = ['plugins:install', 'plugins:add'];
const LINK = 'plugins:link';

/** `./dir`, `../dir`, `/abs/dir`, `~/dir`: a path as a person types one, never an npm name or GitHub slug. */
const looksLikePath = (arg: string): boolean => isAbsolute(arg) || /^(\.\.?|~)([/\\]|$)/.test(arg);

const noSuchDirectory = (path: string, suggestion: string): GritError => new GritError('not_found', `no such directory: ${path}`, { details: { path }, suggestion });

/** Why the command `id` with the words `args` after its name must not run, if it must not. */
export function pluginPathError(id: string, args: string[]): GritError | undefined {
  if (INSTALL.includes(id)) return installPathError(args);
  if (id === LINK) return linkPathError(args);
  return undefined;
}

/** A directory is linked, not installed: said before anything is fetched. */
function installPathError(args: string[]): GritError | undefined {
  const path = args.find((a) => !a.startsWith('-') && looksLikePath(a));
  if (path === undefined) return undefined;
  if (!existsSync(path)) {
    return noSuchDirectory(path, '`grit plugins install` takes npm packages and git URLs; a plugin in a local directory is linked: `grit plugins link <dir>`');
  }
  return new GritError('invalid_args', `\`grit plugins install\` takes npm packages and git URLs, not a directory: ${path}`, {
    details: { path },
    suggestion: `link a plugin's directory instead: \`grit plugins link ${shellWord(path)}\``,
  });
}

/** The directory linked: the first word that is not a flag (link's flags take no value), else `.` as oclif reads it. */
export const linkedPath = (args: string[]): string => args.find((a) => !a.startsWith('-')) ?? '.';

function linkPathError(args: string[]): GritError | undefined {
  const path = linkedPath(args);
  if (!existsSync(path)) return noSuchDirectory(path, "check the path: `grit plugins link <dir>` takes the directory that holds the plugin's package.json");
  if (!statSync(path).isDirectory()) {
    return new GritError('invalid_args', `not a directory: ${path}`, { details: { path }, suggestion: "link the directory that holds the plugin's package.json" });
  }
  if (existsSync(join(path, 'package.json'))) return manifestError(path);
  return new GritError('invalid_args', `not a plugin's directory (no package.json in it): ${path}`, {
    details: { path },
    suggestion: "link the directory that holds the plugin's package.json, whose `oclif` section names its commands",
  });
}

/**
 * A package.json without the `oclif` section that makes a package a plugin (its manifest: where its
 * commands are). oclif refused it with "plugin is invalid … contact the CLI developer", which names
 * neither what is missing nor whose it is to add. One that cannot be read is left to oclif's link,
 * which names the file and its fault.
 */
function manifestError(path: string): GritError | undefined {
  let pjson: unknown;
  try {
    pjson = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof pjson !== 'object' || pjson === null || (pjson as { oclif?: unknown }).oclif) return undefined;
  return new GritError('invalid_args', `not an oclif plugin (its package.json has no \`oclif\` section): ${path}`, {
    details: { path },
    suggestion: 'name the commands\' directory in its package.json, such as "oclif": {"commands": "./dist/commands"}, then link it again',
  });
}
