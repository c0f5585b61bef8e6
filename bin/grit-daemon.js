#!/usr/bin/env node
import { main } from '../dist/src/supervisor/main.js';

// Exit explicitly: worker threads and sockets are closed by then, and nothing else should linger.
process.exit(await main(process.argv.slice(2)));
