/**
 * The spawn helper process (src/git/spawn-helper.ts): listens on the Unix socket given as its
 * argument and runs git for each JSON line it receives, answering with one JSON line; ends when
 * its stdin closes (the daemon that started it has stopped or died).
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { spawnGit, type GitCall } from './git-process.js';
import type { HelperAnswer } from './spawn-helper.js';

const socketPath = process.argv[2];

function serve(socket: Socket): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (data: string) => {
    buffered += data;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let request: { id: number; call: GitCall };
      try {
        request = JSON.parse(line) as { id: number; call: GitCall };
      } catch {
        socket.destroy(); // not a worker talking
        return;
      }
      const answer = (a: HelperAnswer) => socket.writable && socket.write(JSON.stringify(a) + '\n');
      spawnGit(request.call).then(
        (run) => answer({ id: request.id, run }),
        (err: Error) => answer({ id: request.id, error: err.message }),
      );
    }
  });
}

rmSync(socketPath, { force: true }); // a helper of a daemon that died left it
const server = createServer(serve).listen(socketPath);
server.on('error', () => process.exit(1)); // workers then spawn git themselves
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
