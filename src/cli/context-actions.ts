/** CLI actions (parsed input → command function → human output) of `context …`. */
import { bold, cyan, dim, short, singleLine, table, yellow } from './format.js';
import type { CliAction } from './output.js';
import { plural } from '../core/plural.js';
import { readValue } from './input.js';

const lines = (s: { line_start: number; line_end: number }) =>
  s.line_start === s.line_end ? `${s.line_start}` : `${s.line_start}-${s.line_end}`;

/**
 * What an index run warns of, on stderr: files it could not index as asked, and files a lock of
 * another actor held back (lock_policy = require: a few named, all in --json).
 */
function indexWarnings(d: any): string[] {
  const out = (d.warnings as { language?: string; message: string }[]).map((w) => `${w.language ? `${w.language}: ` : ''}${w.message}`);
  const locked = d.skipped_locked as { path: string; owner: string }[];
  if (locked.length > 0) {
    const named = locked.slice(0, 3).map((l) => `${l.path} (${short(l.owner)})`);
    const more = locked.length > named.length ? `, … (${locked.length - named.length} more in --json)` : '';
    out.push(`${plural(locked.length, 'file')} not indexed, locked by another actor (lock_policy = require): ${named.join(', ')}${more}`);
  }
  return out;
}

function renderIndex(d: any): string {
  const skipped = Object.entries(d.skipped as Record<string, number>)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why.replace('_', ' ')}`);
  const langs = Object.entries(d.languages as Record<string, number>)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([l, n]) => `${l} ${n}`);
  const out = [
    `indexed ${plural(d.indexed, 'file')} (${plural(d.symbols, 'symbol')}), ${d.unchanged} unchanged, ${d.removed} removed` +
      dim(` · ${plural(d.events_written, 'event')} in ${plural(d.commits, 'commit')}`),
  ];
  if (langs.length) out.push(dim(`languages: ${langs.join(', ')}`));
  if (skipped.length) out.push(dim(`skipped: ${skipped.join(', ')}`));
  if (d.fallback_files) out.push(yellow(`${plural(d.fallback_files, 'file')} indexed by the regex fallback`));
  return out.join('\n');
}

function renderQuery(d: any): string {
  if (d.results.length === 0) {
    return dim(`no symbol matches ${JSON.stringify(d.query)}${d.indexed === false ? ' (nothing is indexed yet: `grit context index`)' : ''}`);
  }
  // The name asked for is never cut; a path too long for the row goes on under it (with its lines).
  const rows = d.results.map((r: any) => [bold(r.symbol), dim(r.kind), `${cyan(r.path)}:${lines(r)}`]);
  return `${table(rows, { wrap: true })}${d.truncated ? `\n${dim('… more matches (raise --limit)')}` : ''}`;
}

function renderShow(d: any): string {
  const f = d.file;
  const out = [`${bold(singleLine(f.path))} ${dim(`${f.language} · sha256:${f.content_hash.slice(0, 12)} · by ${short(f.actor)}`)}`];
  if (f.summary) out.push(f.summary);
  if (f.symbols.length === 0) out.push(dim('no symbols'));
  else out.push('', table(f.symbols.map((s: any) => [dim(lines(s)), s.kind, bold(s.name)]), { shrink: [2] }));
  return out.join('\n');
}

function renderProject(d: any): string {
  if (d.entries === undefined) return d.value;
  if (d.total === 0) return dim('no project context (add some with `grit context set <key> <value>`)');
  return table(d.entries.map((e: any) => [cyan(e.key), e.value]), { wrap: true });
}

export const CONTEXT_ACTIONS: Record<string, CliAction> = {
  'context:index': {
    ipc: 'ContextIndex',
    // With this directory, which a relative --path is read against first (a daemon's is elsewhere).
    toArgs: ({ flags }) => ({
      path: flags.path,
      cwd: process.cwd(),
      pattern: flags.pattern,
      force: flags.force === true,
    }),
    render: renderIndex,
    warnings: indexWarnings,
  },
  'context:query': {
    ipc: 'ContextQuery',
    toArgs: ({ args, flags }) => ({ query: args.query, limit: flags.limit }),
    render: renderQuery,
    pages: true,
  },
  'context:show': {
    ipc: 'ContextShow',
    toArgs: ({ args }) => ({ path: args.path, cwd: process.cwd() }),
    render: renderShow,
    pages: true,
  },
  'context:project': {
    ipc: 'ContextProject',
    toArgs: ({ args }) => ({ key: args.key }),
    render: renderProject,
    pages: true,
    // One key's value, for `$(grit context project build_cmd -q)`; all of them are a view.
    payload: ({ args }) => args.key !== undefined,
  },
  'context:set': {
    ipc: 'ContextSet',
    toArgs: async ({ args, flags }) => ({ key: args.key, value: await readValue(args, flags) }),
    render: (d) => `set ${cyan(singleLine(d.key))}`,
  },
};
