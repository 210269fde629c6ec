import assert from 'node:assert/strict';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { RefusedError } from '../../src/errors.js';
import type { ConnectionSettings } from '../../src/settings.js';
import { connect } from '../../src/ssh/connect.js';

/**
 * The connection's TCP socket runs without Nagle's algorithm: with it, each small request (a command,
 * a Docker API call, a health probe) waited for a delayed ACK, ~40–80 ms a round trip on a real host.
 * Checked on the socket ssh2 makes, against a server that closes at once (no SSH needed for this).
 */
test('the SSH connection turns off Nagle on its socket before the handshake', async () => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const calls: unknown[] = [];
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
    calls.push(noDelay);
    return original.call(this, noDelay);
  };
  const settings: ConnectionSettings = {
    host: '127.0.0.1',
    port,
    username: 'deploy',
    privateKey: '',
    passphrase: '',
    password: 'x',
    fingerprints: [],
    knownHosts: '',
    insecureIgnoreHostKey: true,
    jump: null,
    connectTimeoutMs: 5000,
    commandTimeoutMs: 5000,
  };
  try {
    await assert.rejects(
      connect(settings, () => {}),
      (err: Error) => err instanceof RefusedError && /closed during the handshake|failed/.test(err.message),
    );
  } finally {
    Socket.prototype.setNoDelay = original;
    server.close();
  }
  assert.deepEqual(calls, [true]);
});
