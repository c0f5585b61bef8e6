#!/usr/bin/env node
// Bundles the CLI's hot path (the fast-path parser, the action tables, the thin client that
// forwards a command to a warm daemon, and `daemon start|status|stop`, which need no more than that
// client) into one CommonJS file, dist/src/cli/fast.bundle.cjs, which
// bin/grit.cjs loads. Node spends ~0.8 ms per ES module it loads at start-up; the ~30 modules of
// that path cost ~25 ms unbundled and ~8 ms as one file, and a CommonJS entry and bundle skip
// starting node's ES module loader, another ~10 ms (docs/performance.md). Run by `npm run build`.
//
// What stays outside the bundle, loaded from dist/ when needed: everything the hot path imports
// lazily other than the daemon round trip itself (running a command locally, CBOR, watch,
// child_process), so a daemon-served command never loads it. src/core/errors.js is bundled
// too: GritError recognises its instances from either copy (src/core/errors.ts).
// The bundle sits in dist/src/cli/, where every relative import it keeps resolves as it did.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = resolve(root, 'dist/src/cli/fast.js');
const outfile = resolve(root, 'dist/src/cli/fast.bundle.cjs');
const FAST_MANIFEST = 'dist/src/cli/fast-manifest.json';
/**
 * Lazily imported, yet part of every daemon-served command (or, the last, small and part of every
 * local one): bundled, as an import() of a file outside would start node's ES module loader.
 */
const HOT = [
  'dist/src/cli/dispatch.js',
  'dist/src/git/repo.js',
  'dist/src/protocol/daemon-launch.js',
  'dist/src/cli/one-command-v8.js',
  // `daemon start|status|stop`, which need no more than these (src/cli/dispatch.ts).
  'dist/src/commands/registry.js',
  'dist/src/commands/daemon.js',
  // Human output on a terminal (src/cli/pager.ts): run only then, and it needs child_process only
  // when it pages; bundled, a terminal's listing starts no ES module loader for it.
  'dist/src/cli/pager.js',
].map((p) => resolve(root, p));
/** Running a command in this process: the local bundle below stands in for run.js. */
const RUN = resolve(root, 'dist/src/commands/run.js');
const RUN_BUNDLE = resolve(root, 'dist/src/commands/run.bundle.cjs');
const fromBundle = (target) => {
  const path = relative(dirname(outfile), target);
  return path.startsWith('.') ? path : `./${path}`;
};

const keepOutside = {
  name: 'keep-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.namespace === 'run-local') return { path: args.path, external: true };
      const target = resolve(args.resolveDir, args.path);
      if (args.kind !== 'dynamic-import' || HOT.includes(target)) return undefined;
      // The local bundle is CommonJS and is required, not imported: import() would start node's
      // ES module loader, which is what the CommonJS bundles are there to avoid.
      if (target === RUN) return { path: 'run', namespace: 'run-local' };
      return { path: fromBundle(target), external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'run-local' }, () => ({ contents: `module.exports = require(${JSON.stringify(fromBundle(RUN_BUNDLE))});`, loader: 'js' }));
  },
};

/** CommonJS has no import.meta: the bundle's own URL stands in (paths are resolved from it). */
const bundleUrl = {
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await bundleAsCommonJS(entry, outfile, { plugins: [keepOutside] });

// The start-up bundle's manifest: the flags and args of every command, which is all its parser
// reads, cut from oclif.manifest.json (~117 KB, which every CLI run read and parsed for them).
// Written here, with the bundle that reads it, so the two cannot drift (test/cli/fast checks it).
const { fastManifest } = await import(pathToFileURL(resolve(root, 'dist/src/cli/fast.js')).href);
const fullManifest = JSON.parse(readFileSync(resolve(root, 'oclif.manifest.json'), 'utf8'));
writeFileSync(resolve(root, FAST_MANIFEST), JSON.stringify(fastManifest(fullManifest)));
console.log(`${FAST_MANIFEST}: ${Object.keys(fullManifest.commands).length} commands`);

// The local path: what a command run in this process loads (the command functions, the store, the
// WAL) as one CommonJS file beside run.js, at the depth of every module it holds, so that paths
// resolved from import.meta.url (the daemon binary, the worker files, doctor's store probe) stay
// right. Its dynamic imports become lazy requires within the file (a module still runs only when
// first used); packages stay external and load through require (lmdb, msgpackr and cbor-x as
// their own one-file CommonJS builds). @noble/hashes and @noble/ed25519 are ES modules only, and
// node 20's `require` of one starts the ES module loader after all (~6 ms a command) and once
// aborted a process (below): they go inside. A local command thus starts no ES module loader:
// ~30 ms less than the same code as ES modules (docs/performance.md).
const NOBLE = ['@noble/hashes', '@noble/ed25519'];
await bundleAsCommonJS(RUN, RUN_BUNDLE, { plugins: [externalExcept(NOBLE)], packages: undefined });

// The WAL reader thread (src/workers/wal-reader.ts) as one CommonJS file beside its module: a
// thread started as an ES module first starts node's ES module loader and loads its ~20 modules
// one by one, ~20 ms more before it reads anything, while the main thread waits on it.
// @noble/hashes goes inside: it is an ES module, and node 20's `require` of one aborted the whole
// process once in test/ops/rebuild ("FATAL ERROR: v8::Module::IsGraphAsync must be used on an
// instantiated module", from the reader's `require` at start-up), most likely because the thread
// was stopped while it still loaded: those replays stop a reader that may still be starting.
const threadBundle = { plugins: [externalExcept(NOBLE)], packages: undefined };
await bundleAsCommonJS(resolve(root, 'dist/src/workers/wal-reader.js'), resolve(root, 'dist/src/workers/wal-reader.bundle.cjs'), threadBundle);
// A long fill's helper thread (src/workers/fold-thread.ts), for the same reasons: it starts as the
// store transaction does and should be folding before the log is written, and it is stopped when
// the fill is done, whether or not it got going.
await bundleAsCommonJS(resolve(root, 'dist/src/workers/fold-thread.js'), resolve(root, 'dist/src/workers/fold-thread.bundle.cjs'), threadBundle);

// Which build this is (src/core/build-info.ts): a daemon left running across an upgrade or a
// rebuild compares it with its clients' and steps aside. Written last, over everything compiled.
writeBuildInfo();

/** dist/src/build-info.json: the package version and a digest of every compiled module. */
function writeBuildInfo() {
  const dist = resolve(root, 'dist/src');
  const out = resolve(dist, 'build-info.json');
  const files = readdirSync(dist, { recursive: true })
    .filter((f) => /\.c?js$/.test(f))
    .sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(readFileSync(resolve(dist, f)));
  const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  writeFileSync(out, `${JSON.stringify({ version, build: hash.digest('hex').slice(0, 16) })}\n`);
  console.log(`${relative(root, out)}: ${files.length} files`);
}

/** Every package stays outside the bundle (loaded by require), but `inside`. */
function externalExcept(inside) {
  return {
    name: 'external-except',
    setup(b) {
      // node's own modules are left to esbuild, which knows which of them it may drop unused.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const kept = args.path.startsWith('node:') || inside.some((p) => args.path === p || args.path.startsWith(`${p}/`));
        return kept ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/** `entry` and what it imports from dist/ as one CommonJS file; packages stay outside (unless `options` take some in). */
async function bundleAsCommonJS(entry, out, options = {}) {
  const r = await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    ...bundleUrl,
    metafile: true,
    logLevel: 'warning',
    ...options,
  });
  console.log(`${relative(root, out)}: ${Object.keys(r.metafile.inputs).length} modules`);
}
