import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { RepServer, ReqClient, TransportError } from '../../src/protocol/transport/index.js';
import { runDir } from './_helpers.js';

const rd = runDir();
after(() => rd.cleanup());

const echo = (b: Buffer, reply: (b: Buffer) => boolean): void => {
  reply(b);
};

test('the ipc socket file is created with mode 0600 and removed on close', async () => {
  const path = join(rd.dir, 'mode.sock');
  const old = process.umask(0o000); // even with a permissive umask
  let srv: RepServer;
  try {
    srv = await RepServer.listen(`ipc://${path}`, echo);
  } finally {
    process.umask(old);
  }
  const st = lstatSync(path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  const c = await ReqClient.connect(`ipc://${path}`);
  assert.equal((await c.request(Buffer.from('m'))).toString(), 'm');
  c.close();
  await srv.close();
  assert.equal(existsSync(path), false);
});

test('a stale socket file left by a killed process is replaced', async () => {
  const path = join(rd.dir, 'stale.sock');
  // a child binds the socket and dies with SIGKILL, leaving the file behind
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`],
    { stdio: 'ignore' },
  );
  await new Promise((r) => child.on('close', r));
  assert.ok(lstatSync(path).isSocket(), 'precondition: stale socket exists');
  await assert.rejects(ReqClient.connect(`ipc://${path}`), (e: unknown) => e instanceof TransportError && e.code === 'ECONNREFUSED');
  const srv = await RepServer.listen(`ipc://${path}`, echo);
  try {
    const c = await ReqClient.connect(`ipc://${path}`);
    assert.equal((await c.request(Buffer.from('s'))).toString(), 's');
    c.close();
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
  } finally {
    await srv.close();
  }
});

test('a live socket is not taken over', async () => {
  const path = join(rd.dir, 'live.sock');
  const first = await RepServer.listen(`ipc://${path}`, (b, reply) => {
    reply(Buffer.concat([Buffer.from('first:'), b]));
  });
  try {
    await assert.rejects(RepServer.listen(`ipc://${path}`, echo), (e: unknown) => e instanceof TransportError && e.code === 'address_in_use');
    const c = await ReqClient.connect(`ipc://${path}`);
    assert.equal((await c.request(Buffer.from('x'))).toString(), 'first:x');
    c.close();
  } finally {
    await first.close();
  }
});

test('a non-socket file at the path is refused and left alone', async () => {
  const path = join(rd.dir, 'regular.sock');
  writeFileSync(path, 'precious');
  // Not 'address_in_use', which a daemon takes to mean another daemon serves there.
  await assert.rejects(RepServer.listen(`ipc://${path}`, echo), (e: unknown) => e instanceof TransportError && e.code === 'insecure');
  assert.equal(readFileSync(path, 'utf8'), 'precious');
});

test('a socket in a world-writable directory is refused', async () => {
  const dir = join(rd.dir, 'open');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  assert.equal(statSync(dir).mode & 0o777, 0o777);
  await assert.rejects(
    RepServer.listen(`ipc://${join(dir, 'x.sock')}`, echo),
    (e: unknown) => e instanceof TransportError && e.code === 'insecure' && /world-writable/.test(e.message),
  );
  assert.equal(existsSync(join(dir, 'x.sock')), false);
  // also with the sticky bit, as /tmp has
  chmodSync(dir, 0o1777);
  await assert.rejects(RepServer.listen(`ipc://${join(dir, 'x.sock')}`, echo), (e: unknown) => e instanceof TransportError && e.code === 'insecure');
  // and a missing directory gives a clear error, not a crash
  await assert.rejects(RepServer.listen(`ipc://${join(rd.dir, 'nope', 'x.sock')}`, echo), (e: unknown) => e instanceof TransportError && e.code === 'ENOENT');
});
