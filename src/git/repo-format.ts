/**
 * What a repository's own config says about its format, read without spawning git (start-up):
 * `core.repositoryformatversion`, `extensions.*` and `core.sharedRepository`. git reads the format
 * from that file alone (no includes), and so does this.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from '../core/errors.js';

export interface RepoFormat {
  /** `core.repositoryformatversion` (0 when unset). */
  version: number;
  /** `extensions.*`, by lower-case name: the value, or true for a bare key. */
  extensions: ReadonlyMap<string, string | true>;
  /** `core.sharedRepository` as written (true for a bare key), or undefined. */
  sharedRepository: string | true | undefined;
}

/** A bare key (`[core] bare`) is true, as git reads it. */
type ConfigValue = string | true;

/**
 * The `section.key` entries of a git config file's sections without a subsection (`[core]`, not
 * `[remote "origin"]`), the last value of each; keys are lower-cased, as git compares them.
 */
export function readPlainSections(text: string): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  let section: string | null = null;
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9.-]+)(\s+"(?:[^"\\]|\\.)*")?\s*\]/.exec(line);
    if (header) {
      section = header[2] ? null : header[1].toLowerCase();
      line = line.slice(header[0].length).trim(); // `[core] bare = false` is one line to git
    }
    if (section === null || line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/.exec(line);
    if (!entry) continue;
    out.set(`${section}.${entry[1].toLowerCase()}`, entry[2] === undefined ? true : configValue(entry[2]));
  }
  return out;
}

/** A value as git reads it: quotes and escapes undone, a comment outside quotes dropped, spaces trimmed. */
function configValue(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < raw.length) out += { n: '\n', t: '\t', b: '\b' }[raw[++i]] ?? raw[i];
    else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trim();
}

/** A boolean setting as git reads it: a bare key, `true`, `yes`, `on` or a non-zero number. */
export function configBool(value: ConfigValue | undefined): boolean {
  if (value === undefined) return false;
  if (value === true) return true;
  const v = value.toLowerCase();
  return v === 'true' || v === 'yes' || v === 'on' || (/^-?[0-9]+$/.test(v) && Number(v) !== 0);
}

/** The format of the repository whose common git dir is `commonDir` (no config: git's defaults). */
export function readRepoFormat(commonDir: string): RepoFormat {
  let text = '';
  try {
    text = readFileSync(join(commonDir, 'config'), 'utf8');
  } catch {
    /* no config: git's defaults */
  }
  const entries = readPlainSections(text);
  const extensions = new Map<string, ConfigValue>();
  for (const [key, value] of entries) if (key.startsWith('extensions.')) extensions.set(key.slice('extensions.'.length), value);
  const version = entries.get('core.repositoryformatversion');
  return {
    version: version === undefined ? 0 : /^[0-9]+$/.test(String(version)) ? Number(version) : NaN,
    extensions,
    sharedRepository: entries.get('core.sharedrepository'),
  };
}

/**
 * The extensions grit works with, and the values it can: git's (2.39, plus `refStorage` and
 * `noop-v1` of later versions), each checked for what it asks of a writer. `preciousObjects` asks
 * that no object be deleted: grit then keeps the packs it would merge or drop
 * (`ObjectStore.preciousObjects`). `partialClone` and `worktreeConfig` ask nothing of what grit
 * reads or writes. `v1Only`: git refuses it in a version 0 repository.
 */
const KNOWN_EXTENSIONS: Record<string, { v1Only: boolean; accepts: (value: ConfigValue) => boolean }> = {
  noop: { v1Only: false, accepts: () => true },
  'noop-v1': { v1Only: true, accepts: () => true },
  preciousobjects: { v1Only: false, accepts: () => true },
  partialclone: { v1Only: false, accepts: () => true },
  worktreeconfig: { v1Only: false, accepts: () => true },
  objectformat: { v1Only: true, accepts: (value) => value === 'sha1' },
  refstorage: { v1Only: false, accepts: (value) => value === 'files' },
};

/** Why grit cannot work in a repository of this format, or null when it can. */
function unsupported(format: RepoFormat): { message: string; suggestion: string } | null {
  const { version } = format;
  if (!Number.isInteger(version) || version > 1) {
    return {
      message: `repository format version ${Number.isNaN(version) ? 'is not a number' : version} (core.repositoryformatversion): grit works with versions 0 and 1`,
      suggestion: 'use grit in a repository git itself can open (`git status` says what is wrong)',
    };
  }
  for (const [name, value] of format.extensions) {
    const known = KNOWN_EXTENSIONS[name];
    // git ignores extensions it does not know in a version 0 repository; so does grit.
    if (!known && version === 0) continue;
    if (known?.accepts(value) && !(known.v1Only && version === 0)) continue;
    if (name === 'objectformat' && value !== 'sha1') {
      return {
        message: `grit does not support the ${value} object format yet (extensions.objectFormat): it reads and writes SHA-1 objects`,
        suggestion: 'use grit in a repository created with the default (SHA-1) object format',
      };
    }
    if (name === 'refstorage') {
      return {
        message: `grit does not support the ${value} ref storage (extensions.refStorage): it reads and writes loose and packed refs`,
        suggestion: 'use grit in a repository with the default ref storage (`git init --ref-format=files`)',
      };
    }
    return {
      message: known
        ? `repository format version 0 with extensions.${name}, which needs version 1: git refuses this repository`
        : `unknown repository extension extensions.${name}: grit does not know what it asks of a writer, and does not touch the repository`,
      suggestion: 'use grit in a repository git itself can open (`git status` says what is wrong)',
    };
  }
  return null;
}

/** Refuses (git_error, exit 5) a repository whose format grit cannot read or write safely. */
export function checkRepoFormat(commonDir: string, format: RepoFormat = readRepoFormat(commonDir)): RepoFormat {
  const problem = unsupported(format);
  if (problem) {
    throw new GritError('git_error', problem.message, {
      details: { git_dir: commonDir },
      suggestion: problem.suggestion,
      environment: true,
    });
  }
  return format;
}
