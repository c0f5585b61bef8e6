#!/usr/bin/env node
process.stderr.write('grit-daemon: not yet available; grit runs every command in-process\n');
process.exit(1);
