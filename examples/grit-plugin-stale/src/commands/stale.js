// @ts-check
/**
 * `grit stale --days N`: open issues nobody has touched (no event of any kind) for N days, oldest
 * first. Plain JavaScript, type-checked against grit's exported types (jsconfig.json here; no build step, so
 * oclif loads it as it is).
 */
import { Command, Flags } from '@oclif/core';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const DAY_MS = 86_400_000;

/**
 * The API of the grit running this plugin, not a copy from the plugin's own node_modules: one
 * store, one version, and nothing to install.
 * @param {import('@oclif/core').Config} config
 * @returns {Promise<typeof import('grit')>}
 */
async function hostGrit(config) {
  return import(pathToFileURL(join(config.root, config.pjson.main ?? 'dist/src/index.js')).href);
}

/** @param {number} ms */
function age(ms) {
  const days = ms / DAY_MS;
  if (days >= 1) return `${Math.floor(days)}d`;
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${Math.floor(hours)}h` : `${Math.max(0, Math.floor(ms / 60_000))}m`;
}

export default class Stale extends Command {
  static description = 'List open issues untouched for at least N days, oldest first';

  static examples = ['<%= config.bin %> stale --days 14', '<%= config.bin %> stale --days 30 --label bug --json'];

  static enableJsonFlag = true;

  static flags = {
    days: Flags.string({ description: 'days without any event (decimals allowed)', default: '14' }),
    label: Flags.string({ description: 'only issues with this label' }),
  };

  /** @type {typeof import('grit') | undefined} the host's API, once run() has loaded it */
  grit;

  /** @returns {Promise<{issues: import('grit').IssueSummary[], total: number, days: number}>} */
  async run() {
    const { flags } = await this.parse(Stale);
    const grit = (this.grit = await hostGrit(this.config));
    const days = Number(flags.days);
    if (flags.days.trim() === '' || !Number.isFinite(days) || days < 0) {
      this.fail(new grit.GritError('invalid_args', '--days must be a number of days, 0 or more', { suggestion: 'for example --days 14, or --days 0.5 for twelve hours' }));
    }
    /** @type {import('grit').IssueSummary[]} */
    let issues;
    try {
      const repo = await grit.openRepo();
      ({ issues } = await repo.run('IssueList', { state: 'open', label: flags.label }));
    } catch (err) {
      if (!(err instanceof grit.GritError)) throw err;
      this.fail(err);
    }
    const cutoff = Date.now() - days * DAY_MS;
    const stale = issues.filter((i) => i.updated_ts <= cutoff).sort((a, b) => a.updated_ts - b.updated_ts);
    if (stale.length === 0) this.log(`no open issue untouched for ${days} days`);
    for (const i of stale) this.log(`${i.issue_id.slice(0, 8)}  ${age(Date.now() - i.updated_ts).padStart(4)}  ${i.title}`);
    return { issues: stale, total: stale.length, days };
  }

  /**
   * A GritError (not a git repository, unknown actor, …) as grit prints it: its exit status, its
   * suggestion as oclif's hint, and under --json its own `toJSON()` (toErrorJson).
   * @param {import('grit').GritError} err
   * @returns {never}
   */
  fail(err) {
    return this.error(err, { exit: err.exitCode, suggestions: err.suggestion ? [err.suggestion] : [] });
  }

  // --json answers with grit's envelope (SPEC §6) on one line, with grit's exit codes.

  /** @param {any} err */
  async catch(err) {
    process.exitCode = err?.oclif?.exit ?? process.exitCode;
    return super.catch(err);
  }

  /** @param {unknown} data */
  toSuccessJson(data) {
    return { schema_version: 1, ok: true, data };
  }

  /**
   * grit's own error object for a GritError (code, message, details with the suggestion), so the
   * envelope is the one grit's commands print; anything else (oclif's parse errors) as best it can.
   * @param {any} err
   */
  toErrorJson(err) {
    const error = this.grit && err instanceof this.grit.GritError ? err.toJSON() : { code: err?.code ?? 'internal_error', message: String(err?.message ?? err), details: {} };
    return { schema_version: 1, ok: false, error };
  }

  /** @param {unknown} json */
  logJson(json) {
    process.stdout.write(JSON.stringify(json) + '\n');
  }
}
