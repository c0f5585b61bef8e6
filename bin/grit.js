#!/usr/bin/env node
// Plain command lines run through the fast path without loading oclif; everything else
// (help, errors in the command line, plugins) goes to oclif.
import { fileURLToPath } from 'node:url';
import { runFast } from '../dist/src/cli/fast.js';

const manifest = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url));
if (!(await runFast(process.argv.slice(2), manifest))) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
