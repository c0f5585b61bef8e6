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

  /** @returns {Promise<{issues: import('grit').IssueSummary[], total: number, days: number}>} */
  async run() {
    const { flags } = await this.parse(Stale);
    const days = Number(flags.days);
    if (flags.days.trim() === '' || !Number.isFinite(days) || days < 0) {
      this.error('--days must be a number of days, 0 or more', { exit: 2, code: 'invalid_args' });
    }
    const grit = await hostGrit(this.config);
    /** @type {import('grit').IssueSummary[]} */
    let issues;
    try {
      const repo = await grit.openRepo();
      ({ issues } = await repo.run('IssueList', { state: 'open', label: flags.label }));
    } catch (err) {
      // A GritError (not a git repository, unknown actor, …) becomes an oclif error with its code and exit status.
      if (!(err instanceof grit.GritError)) throw err;
      this.error(err.message, { exit: err.exitCode, code: err.code, suggestions: err.suggestion ? [err.suggestion] : [] });
    }
    const cutoff = Date.now() - days * DAY_MS;
    const stale = issues.filter((i) => i.updated_ts <= cutoff).sort((a, b) => a.updated_ts - b.updated_ts);
    if (stale.length === 0) this.log(`no open issue untouched for ${days} days`);
    for (const i of stale) this.log(`${i.issue_id.slice(0, 8)}  ${age(Date.now() - i.updated_ts).padStart(4)}  ${i.title}`);
    return { issues: stale, total: stale.length, days };
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

  /** @param {any} err */
  toErrorJson(err) {
    return { schema_version: 1, ok: false, error: { code: err?.code ?? 'internal_error', message: String(err?.message ?? err), details: {} } };
  }

  /** @param {unknown} json */
  logJson(json) {
    process.stdout.write(JSON.stringify(json) + '\n');
  }
}
