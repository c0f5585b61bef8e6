/** docs/: the generated command reference is current, and relative links between docs resolve. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEP_TYPES, KINDS, type FieldType } from '../../src/core/kinds.js';
import { parseTtl } from '../../src/git/locks.js';
import { STALE_LOCK_MS } from '../../src/git/refs.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/repo.js';

const GEN = join(REPO_ROOT, 'scripts', 'gen-command-docs.js');
const MANIFEST = join(REPO_ROOT, 'oclif.manifest.json');

const check = (...extra: string[]) => spawnSync(process.execPath, [GEN, '--check', ...extra], { encoding: 'utf8', timeout: 30_000 });

describe('docs', () => {
  it('docs/commands.md matches oclif.manifest.json', () => {
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'commands.md'), 'utf8');
    for (const id of Object.keys(JSON.parse(readFileSync(MANIFEST, 'utf8')).commands)) {
      assert.ok(doc.includes(`### grit ${id.split(':').join(' ')}\n`), `${id} is documented`);
    }
  });

  // The build regenerates the file, so in CI (a fresh clone, built) the question is whether the
  // committed one was current. Locally an uncommitted regeneration is work in progress, not stale.
  it('was committed current', { skip: !process.env.CI && 'only in CI (CI is unset)' }, () => {
    const r = spawnSync('git', ['diff', '--exit-code', '--stat', 'HEAD', '--', 'docs/commands.md'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `docs/commands.md differs from the committed one: commit the regenerated file\n${r.stdout}${r.stderr}`);
  });

  it('notices a change of any command', () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    manifest.commands['issue:list'].flags.state.description = 'a description nobody wrote';
    const changed = join(tempDir(), 'manifest.json');
    writeFileSync(changed, JSON.stringify(manifest));
    const r = check('--manifest', changed);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /commands\.md is stale: run `npm run build`/);
  });

  it('locks.md gives TTLs as the parser reads them: those it lists work, those it says are refused are', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'locks.md'), 'utf8');
    const para = /^TTL: (.*?); a bare number is seconds;.*?so (.*?) are refused/ms.exec(doc);
    assert.ok(para, 'the TTL paragraph of locks.md');
    const forms = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    assert.ok(forms(para[1]).length >= 4);
    for (const ttl of forms(para[1])) assert.ok(parseTtl(ttl) >= 1000, ttl);
    for (const ttl of forms(para[2])) assert.throws(() => parseTtl(ttl), { code: 'invalid_args' }, ttl);
  });

  it('gives the age at which a ref lock is stale as the code has it, wherever it says', () => {
    const says: [string, RegExp][] = [
      ['operations.md', /git-style ref lock is stale when older than (\d+) s/],
      ['wal.md', /a lock file whose mtime is more than (\d+) s old/],
      ['reliability.md', /A lock older than (\d+) s is treated as abandoned/],
    ];
    for (const [file, sentence] of says) {
      const m = sentence.exec(readFileSync(join(REPO_ROOT, 'docs', file), 'utf8').replace(/\s+/g, ' '));
      assert.ok(m, `${file}: ${sentence}`);
      assert.equal(Number(m[1]) * 1000, STALE_LOCK_MS, file);
    }
  });

  it("docs/formats.md gives every event kind's tag and JSON fields as src/core/kinds.ts has them", () => {
    const typeInDocs: Record<FieldType, string> = {
      text: 'text',
      'text?': 'text or null',
      texts: '[text]',
      id16: 'id',
      hash32: 'hash',
      u64: 'integer',
      state: '"open" or "closed"',
      dep_type: DEP_TYPES.map((t) => `"${t}"`).join(' or '),
      symbols: '[symbol]',
    };
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'formats.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| ([A-Z][A-Za-z]+) \| (\d+) \| (.*) \|$/gm)].map((m) => m.slice(1).join(' | '));
    const expected = KINDS.map((k) => `${k.name} | ${k.tag} | ${k.fields.map(([name, type]) => `\`${name}\`: ${typeInDocs[type]}`).join(', ')}`);
    assert.deepEqual(rows, expected);
  });

  it('has no broken relative links in README.md and docs/, to a page or to a heading of one', () => {
    const files = [join(REPO_ROOT, 'README.md'), ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(REPO_ROOT, 'docs', f))];
    const broken: string[] = [];
    for (const file of files) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [page, anchor] = target.split('#');
        const path = page === '' ? file : resolve(dirname(file), page);
        if (!existsSync(path)) broken.push(`${file.replace(REPO_ROOT, '')}: ${target}`);
        else if (anchor !== undefined && path.endsWith('.md') && !headingAnchors(readFileSync(path, 'utf8')).has(anchor)) {
          broken.push(`${file.replace(REPO_ROOT, '')}: ${target} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });
});

/** The anchors GitHub gives a page's headings: lowercased, punctuation dropped, spaces as `-`, a repeat numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}
