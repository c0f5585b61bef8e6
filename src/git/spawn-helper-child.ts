/**
 * The spawn helper process (src/git/spawn-helper.ts): listens on the Unix socket given as its
 * argument and runs git for each JSON line it receives, answering with one JSON line; ends when
 * its stdin closes (the daemon that started it has stopped or died).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { spawnGit } from './git-process.js';
import { readJsonLines, type HelperAnswer, type HelperRequest } from './spawn-helper.js';

const socketPath = process.argv[2];

function serve(socket: Socket): void {
  socket.on('error', () => undefined);
  const answer = (a: HelperAnswer) => socket.writable && socket.write(JSON.stringify(a) + '\n');
  readJsonLines(socket, (value) => {
    const { id, call } = value as HelperRequest;
    spawnGit(call).then(
      (run) => answer({ id, run }),
      (err: Error) => answer({ id, error: err.message }),
    );
  });
}

// The path is this daemon's own (named after its pid), and the daemon cleared one a dead helper
// left before starting this one: a file there now is not this helper's to remove, and listening
// fails (workers then spawn git themselves).
let bound: number | null = null;
const server = createServer(serve).listen(socketPath, () => {
  // 0600 like the daemon's own sockets (the run directory, 0700, already keeps others out).
  chmodSync(socketPath, 0o600);
  bound = lstatSync(socketPath).ino;
});
server.on('error', () => process.exit(1));
process.stdin.on('close', () => {
  try {
    if (lstatSync(socketPath).ino === bound) unlinkSync(socketPath); // nothing listens there any more
  } catch {
    // gone already
  }
  process.exit(0); // which stops the gits still talking to a remote (src/git/git-process.ts)
});
process.stdin.resume();
