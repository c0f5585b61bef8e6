#!/usr/bin/env node
// Writes docs/commands.md, the command reference, from oclif.manifest.json (the same description,
// flags and examples `grit <cmd> --help` shows). Run by `npm run build`, after the manifest.
//   --check            exit 1 (and write nothing) when docs/commands.md differs from what it would write
//   --manifest <path>  read another manifest; --out <path> compare with or write another file
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const manifestPath = option('--manifest', `${root}oclif.manifest.json`);
const outPath = option('--out', `${root}docs/commands.md`);

const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const bin = pkg.oclif.bin;
const topics = pkg.oclif.topics ?? {};

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n+/g, ' ');
const name = (id) => `${bin} ${id.split(':').join(' ')}`;
const anchor = (id) => name(id).replace(/\s+/g, '-');
const example = (e) => (typeof e === 'string' ? e : e.command).replace(/<%= config\.bin %>/g, bin).replace(/<%= command\.id %>/g, '');

function flagValue(f) {
  if (f.type === 'boolean') return '';
  return f.options ? ` ${f.options.join('|')}` : ' <value>';
}

function flagName(f) {
  const long = f.type === 'boolean' && f.allowNo ? `--[no-]${f.name}` : `--${f.name}`;
  return `${f.char ? `-${f.char}, ` : ''}${long}${flagValue(f)}`;
}

function usage(id, cmd) {
  const parts = [name(id)];
  for (const [argName, a] of Object.entries(cmd.args ?? {})) parts.push(a.required ? `<${argName}>` : `[${argName}]`);
  for (const f of Object.values(cmd.flags).filter((f) => !f.hidden && f.helpGroup !== 'GLOBAL')) {
    const text = `--${f.name}${flagValue(f)}${f.multiple ? '…' : ''}`;
    parts.push(f.required ? text : `[${text}]`);
  }
  return parts.join(' ');
}

function flagNotes(f) {
  const notes = [];
  if (f.required) notes.push('required');
  // A description written for --help may say so already (oclif's help does not).
  if (f.multiple && !/\(repeatable\)/.test(f.description ?? '')) notes.push('repeatable');
  if (f.default !== undefined && f.default !== false) notes.push(`default: ${f.default}`);
  return notes.length ? ` (${notes.join('; ')})` : '';
}

/** Which global flags a command takes: all of them, or those that mean something to it (src/cli/base.ts). */
function globalsLine(cmd) {
  const taken = Object.values(cmd.flags).filter((f) => f.helpGroup === 'GLOBAL');
  if (taken.length === 0) return [];
  if (taken.length === globalFlags().length) return ['Takes the [global flags](#global-flags).', ''];
  const names = taken.map((f) => `\`${f.char ? `-${f.char}` : `--${f.name}`}\``);
  return [`Of the [global flags](#global-flags), takes ${names.join(', ')} only; the others mean nothing to it and are refused.`, ''];
}

let globals;
/** The global flags, from the command that takes the most of them. */
function globalFlags() {
  globals ??= Object.values(manifest.commands)
    .map((c) => Object.values(c.flags).filter((f) => f.helpGroup === 'GLOBAL'))
    .reduce((most, these) => (these.length > most.length ? these : most), []);
  return globals;
}

function section(id, cmd) {
  // A summary is the line help lists the command by; the description, when there is one too, says the rest.
  const about = cmd.summary ? `${cmd.summary}. ${cmd.description ?? ''}`.trim() : (cmd.description ?? '');
  const out = [`### ${name(id)}`, '', about, '', '```', usage(id, cmd), '```', ''];
  const args = Object.entries(cmd.args ?? {});
  if (args.length) {
    out.push('| argument | description |', '| --- | --- |');
    for (const [argName, a] of args) out.push(`| \`${argName}\` | ${cell(a.description ?? '')}${a.required ? ' (required)' : ''} |`);
    out.push('');
  }
  const flags = Object.values(cmd.flags).filter((f) => !f.hidden && f.helpGroup !== 'GLOBAL');
  if (flags.length) {
    out.push('| flag | description |', '| --- | --- |');
    for (const f of flags) out.push(`| \`${cell(flagName(f))}\` | ${cell(f.description ?? '')}${cell(flagNotes(f))} |`);
    out.push('');
  }
  out.push(...globalsLine(cmd));
  if (cmd.examples?.length) out.push('```sh', ...cmd.examples.map(example), '```', '');
  return out;
}

function render() {
  const ids = Object.keys(manifest.commands).filter((id) => !manifest.commands[id].hidden).sort();
  const groups = new Map();
  for (const id of ids) {
    const topic = id.includes(':') ? id.split(':')[0] : '';
    if (!groups.has(topic)) groups.set(topic, []);
    groups.get(topic).push(id);
  }
  const order = [...groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1));
  const out = [
    '# Command reference',
    '',
    '<!-- Generated from oclif.manifest.json by scripts/gen-command-docs.js (npm run build). Do not edit: a test fails when it is stale. -->',
    '',
    `Every command also answers \`${bin} <command> --help\`. The commands of grit's oclif plugins`,
    `(\`${bin} help\`, \`${bin} plugins …\`, \`${bin} autocomplete\`) are described in [plugins.md](plugins.md).`,
    '',
    '## Global flags',
    '',
    'Every command that reads or writes a repository takes these, after the command, before it or among the words of its name (`grit --json issue list` and `grit issue --json list` are `grit issue list --json`); a command\'s own flags go after its name (`grit issue --state open list` is refused with `invalid_args`).',
    'A command that opens no repository (`daemon …`, `watch`, `mcp`) takes only those that mean something to it, as its section says, and refuses the others with `invalid_args` naming why, rather than ignore them.',
    '`grit --version` takes `--json` and `-q` too, and the boolean ones are harmless there (`grit --no-daemon --version`).',
    '',
    '',
    '| flag | description |',
    '| --- | --- |',
    ...globalFlags().map((f) => `| \`${cell(flagName(f))}\` | ${cell(f.description ?? '')} |`),
    '',
    '## Commands',
    '',
  ];
  for (const topic of order) {
    const label = topic === '' ? 'top level' : `\`${bin} ${topic}\`${topics[topic] ? `: ${topics[topic].description}` : ''}`;
    out.push(`- ${label}: ${groups.get(topic).map((id) => `[${id.split(':').slice(topic ? 1 : 0).join(' ')}](#${anchor(id)})`).join(' · ')}`);
  }
  out.push('');
  for (const topic of order) {
    out.push(`## ${topic === '' ? 'Top-level commands' : `${bin} ${topic}`}`, '');
    if (topics[topic]) out.push(topics[topic].description, '');
    for (const id of groups.get(topic)) out.push(...section(id, manifest.commands[id]));
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

const text = render();
if (argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== text) {
    console.error(`${outPath} is stale: run \`npm run build\` (or node scripts/gen-command-docs.js) and commit it`);
    process.exit(1);
  }
} else {
  writeFileSync(outPath, text);
  console.log(`${outPath.replace(root, '')}: ${Object.keys(manifest.commands).length} commands`);
}
