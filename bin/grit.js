#!/usr/bin/env node
// Plain command lines run through the fast path (one bundled file: scripts/bundle.js) without
// loading oclif; everything else (help, errors in the command line, plugins) goes to oclif.
import { fileURLToPath } from 'node:url';
import { runFast } from '../dist/src/cli/fast.bundle.js';

// A reader that stops early (`grit issue list --json | head`) closes the pipe: that ends the
// output, not the command, which has already done its work. Stop quietly, as a pipe's writer should.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

const manifest = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url));
if (!(await runFast(process.argv.slice(2), manifest))) {
  const { execute, settings } = await import('@oclif/core');
  // Plugins run as compiled JavaScript (docs/plugins.md): never look for ts-node, not even for a
  // linked plugin, which oclif would otherwise try and then warn about on every command.
  settings.enableAutoTranspile = false;
  await execute({ dir: import.meta.url });
}
