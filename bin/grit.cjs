#!/usr/bin/env node
// Plain command lines run through the fast path (one bundled file: scripts/bundle.js) without
// loading oclif; everything else (help, errors in the command line, plugins) goes to oclif
// (src/cli/oclif-run.ts).
// CommonJS, like the bundle: a command served by the daemon never starts node's ES module loader.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { guardStandardStreams, prepareNativeAddons, runFast } = require('../dist/src/cli/fast.bundle.cjs');

// A closed pipe, a full disk: one line and an exit status, never a stack trace (src/core/std-streams.ts).
guardStandardStreams('grit');
// Before a local command first loads lmdb (src/core/native-addons-env.ts).
prepareNativeAddons();

const OCLIF_CWD_WARNING = 'WARNING: current directory does not exist\n';
function cwdGone() {
  try {
    process.cwd();
    return false;
  } catch {
    return true;
  }
}

// The flags and args of oclif.manifest.json, written by scripts/bundle.js beside the bundle.
runFast(process.argv.slice(2), join(__dirname, '..', 'dist', 'src', 'cli', 'fast-manifest.json')).then(async (done) => {
  if (done) return;
  // oclif writes "WARNING: current directory does not exist" as it loads, ahead of grit's own
  // error for it (io_error, with a hint) or of help, which needs no directory: that line is dropped.
  const write = process.stderr.write;
  if (cwdGone()) process.stderr.write = (chunk, ...rest) => chunk === OCLIF_CWD_WARNING || write.call(process.stderr, chunk, ...rest);
  let runOclif;
  try {
    ({ runOclif } = await import(pathToFileURL(join(__dirname, '..', 'dist', 'src', 'cli', 'oclif-run.js')).href));
  } finally {
    process.stderr.write = write;
  }
  await runOclif(__filename, process.argv.slice(2));
});
