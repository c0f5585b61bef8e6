/**
 * The spawn helper process (src/git/spawn-helper.ts): listens on the Unix socket given as its
 * argument and runs git for each JSON line it receives, answering with one JSON line; ends when
 * its stdin closes (the daemon that started it has stopped or died).
 */
import { chmodSync, rmSync } from 'node:fs';
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

rmSync(socketPath, { force: true }); // a helper of a daemon that died left it
// 0600 like the daemon's own sockets (the run directory, 0700, already keeps others out).
const server = createServer(serve).listen(socketPath, () => chmodSync(socketPath, 0o600));
server.on('error', () => process.exit(1)); // workers then spawn git themselves
process.stdin.on('close', () => {
  rmSync(socketPath, { force: true }); // nothing listens there any more
  process.exit(0); // which stops the gits still talking to a remote (src/git/git-process.ts)
});
process.stdin.resume();
