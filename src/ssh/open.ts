import type { Log } from '../log.js';
import type { ConnectionSettings } from '../settings.js';
import { checkPrivateKey, connect } from './connect.js';
import { SshHost } from './ssh-host.js';

/** Checks the keys, then opens the run's one SSH connection (two handshakes only through a jump host). */
export async function openHost(
  c: ConnectionSettings,
  log: Log,
): Promise<{ host: SshHost; handshakes: number }> {
  checkPrivateKey('private-key', c.privateKey, c.passphrase);
  if (c.jump)
    checkPrivateKey(
      c.jump.privateKey === c.privateKey ? 'private-key' : 'proxy-private-key',
      c.jump.privateKey,
      c.jump.passphrase,
    );
  let handshakes = 0;
  const { client, jump } = await connect(c, (endpoint, how) => {
    handshakes++;
    log.info(`connected to ${endpoint}; host key accepted by ${how}`);
  });
  return {
    host: new SshHost(client, jump, `${c.username}@${c.host}:${c.port}`, c.commandTimeoutMs),
    handshakes,
  };
}
