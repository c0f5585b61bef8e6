#!/usr/bin/env node
// Bundles the CLI's hot path (the fast-path parser, the action tables, and the thin client that
// forwards a command to a warm daemon) into one CommonJS file, dist/src/cli/fast.bundle.cjs, which
// bin/grit.cjs loads. Node spends ~0.8 ms per ES module it loads at start-up; the ~30 modules of
// that path cost ~25 ms unbundled and ~8 ms as one file, and a CommonJS entry and bundle skip
// starting node's ES module loader, another ~10 ms (docs/performance.md). Run by `npm run build`.
//
// What stays outside the bundle, loaded from dist/ as ES modules when needed: everything the hot
// path imports lazily other than the daemon round trip itself (running a command locally, CBOR,
// watch, child_process), so a daemon-served command never loads it. src/core/errors.js is bundled
// too: GritError recognises its instances from either copy (src/core/errors.ts).
// The bundle sits in dist/src/cli/, where every relative import it keeps resolves as it did.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = resolve(root, 'dist/src/cli/fast.js');
const outfile = resolve(root, 'dist/src/cli/fast.bundle.cjs');
/** Lazily imported, yet part of every daemon-served command: bundled. */
const HOT = ['dist/src/cli/dispatch.js', 'dist/src/git/repo.js', 'dist/src/protocol/daemon-launch.js'].map((p) => resolve(root, p));
/** Running a command in this process: the local bundle below stands in for run.js. */
const RUN = resolve(root, 'dist/src/commands/run.js');
const RUN_BUNDLE = resolve(root, 'dist/src/commands/run.bundle.js');

const keepOutside = {
  name: 'keep-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      if (args.kind !== 'dynamic-import' || HOT.includes(target)) return undefined;
      const path = relative(dirname(outfile), target === RUN ? RUN_BUNDLE : target);
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  // CommonJS has no import.meta: the bundle's own URL stands in (paths are resolved from it).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [keepOutside],
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`${relative(root, outfile)}: ${inputs} modules`);

// The local path: what a command run in this process loads (the command functions, the store, the
// WAL), one ES module graph split at its dynamic imports, so that a local command loads a handful
// of files instead of ~45 modules. Its files sit beside run.js in dist/src/commands/, at the depth
// of every module they hold, so paths resolved from import.meta.url (the daemon binary, the worker
// file, doctor's store probe) stay right. Packages stay external.
for (const f of readdirSync(dirname(RUN_BUNDLE))) {
  if (f.startsWith('run.chunk-')) rmSync(resolve(dirname(RUN_BUNDLE), f)); // a previous build's
}
const local = await build({
  entryPoints: { 'run.bundle': RUN },
  outdir: dirname(RUN_BUNDLE),
  chunkNames: 'run.chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
});
const chunks = Object.keys(local.metafile.outputs).filter((f) => f.endsWith('.js')).length;
console.log(`${relative(root, RUN_BUNDLE)}: ${Object.keys(local.metafile.inputs).length} modules in ${chunks} files`);
