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

/** @typedef {{issues: import('grit').IssueSummary[], total: number, days: number}} StaleData */

/** @param {StaleData} data */
function render({ issues, days }) {
  if (issues.length === 0) return `no open issue untouched for ${days} days`;
  return issues.map((i) => `${i.issue_id.slice(0, 8)}  ${age(Date.now() - i.updated_ts).padStart(4)}  ${i.title}`).join('\n');
}

export default class Stale extends Command {
  static description = 'List open issues untouched for at least N days, oldest first';

  static examples = ['<%= config.bin %> stale --days 14', '<%= config.bin %> stale --days 30 --label bug --json'];

  static flags = {
    days: Flags.string({ description: 'days without any event (decimals allowed)', default: '14' }),
    label: Flags.string({ description: 'only issues with this label' }),
    // grit's global flags (SPEC §5), which every grit command takes.
    json: Flags.boolean({ description: 'print one JSON object: {schema_version, ok, data|error}', helpGroup: 'GLOBAL' }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing on success', helpGroup: 'GLOBAL' }),
    'no-daemon': Flags.boolean({ description: 'accepted as on every grit command (a plugin command runs in this process anyway)', helpGroup: 'GLOBAL' }),
    actor: Flags.string({ description: 'actor to act as: its id, a unique prefix, or its label', helpGroup: 'GLOBAL' }),
    'data-dir': Flags.string({ description: 'actor data directory (overrides --actor; env GRIT_HOME)', helpGroup: 'GLOBAL' }),
  };

  /**
   * Everything goes through grit's printResult/printError, so the output is grit's: one envelope
   * under --json, grit's error codes and exit statuses (oclif's parse errors are invalid_args, 2),
   * `error:`/`hint:` lines on a terminal.
   */
  async run() {
    const grit = await hostGrit(this.config);
    try {
      const { flags } = await this.parse(Stale);
      const days = Number(flags.days);
      if (flags.days.trim() === '' || !Number.isFinite(days) || days < 0) {
        throw new grit.GritError('invalid_args', '--days must be a number of days, 0 or more', { suggestion: 'for example --days 14, or --days 0.5 for twelve hours' });
      }
      const repo = await grit.openRepo({ actor: flags.actor, dataDir: flags['data-dir'] });
      const { issues } = await repo.run('IssueList', { state: 'open', label: flags.label });
      const cutoff = Date.now() - days * DAY_MS;
      const stale = issues.filter((i) => i.updated_ts <= cutoff).sort((a, b) => a.updated_ts - b.updated_ts);
      grit.printResult({ issues: stale, total: stale.length, days }, { json: flags.json, quiet: flags.quiet, text: render });
    } catch (err) {
      // Before (or without) a parse, the command line itself says whether JSON was asked for.
      grit.printError(err, this.argv.includes('--json'), this);
    }
  }
}
