import { InputError } from '../errors.js';
import type { ConnectionSettings, JumpHost } from '../settings.js';
import * as v from '../validate.js';

/**
 * The SSH inputs, checked before any connection: without a way to authenticate or to check the host key
 * (or the jump host's) nothing is attempted, so a misconfiguration never reaches the network.
 */
export function parseConnection(
  input: (name: string) => string,
  required: (name: string, expected: string) => string,
): ConnectionSettings {
  const hostName = v.host('host', required('host', 'a host name or IP address'));
  const username = v.username('username', required('username', 'the SSH user name on the host'));
  const privateKey = input('private-key');
  const password = input('password');
  if (!privateKey && !password) {
    throw new InputError('private-key', '', 'a private key (or the password input) to authenticate with');
  }
  const fingerprints = v.fingerprints('host-fingerprint', input('host-fingerprint'));
  const knownHosts = input('known-hosts');
  const insecureIgnoreHostKey = v.bool('insecure-ignore-host-key', input('insecure-ignore-host-key'));
  if (!fingerprints.length && !knownHosts && !insecureIgnoreHostKey) {
    throw new InputError(
      'host-fingerprint',
      '',
      "the host key's fingerprint (run `ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub` on the host, " +
        'or `ssh-keyscan -p PORT HOST | ssh-keygen -lf -` from a trusted machine), or known-hosts lines. ' +
        'Setting insecure-ignore-host-key: true accepts any host key and exposes the connection to interception',
    );
  }
  const proxyHost = input('proxy-host');
  let jump: JumpHost | null = null;
  if (proxyHost) {
    const proxyFingerprints = v.fingerprints('proxy-host-fingerprint', input('proxy-host-fingerprint'));
    if (!proxyFingerprints.length && !knownHosts && !insecureIgnoreHostKey) {
      throw new InputError(
        'proxy-host-fingerprint',
        '',
        "the jump host's SHA256 fingerprint (or known-hosts lines for it)",
      );
    }
    const proxyKey = input('proxy-private-key');
    const proxyPassword = input('proxy-password');
    if (input('proxy-passphrase') && !proxyKey)
      throw new InputError('proxy-passphrase', '***', 'only with proxy-private-key (the key it unlocks)');
    jump = {
      host: v.host('proxy-host', proxyHost),
      port: v.integer('proxy-port', input('proxy-port'), 1, 65535),
      username: input('proxy-username') ? v.username('proxy-username', input('proxy-username')) : username,
      fingerprints: proxyFingerprints,
      // Without its own key or password the jump host is reached with the target's key, as `ssh -J` does.
      privateKey: proxyKey || (proxyPassword ? '' : privateKey),
      passphrase: proxyKey ? input('proxy-passphrase') : proxyPassword ? '' : input('passphrase'),
      password: proxyPassword,
    };
  }
  return {
    host: hostName,
    port: v.integer('port', input('port'), 1, 65535),
    username,
    privateKey,
    passphrase: input('passphrase'),
    password,
    fingerprints,
    knownHosts,
    insecureIgnoreHostKey,
    jump,
    connectTimeoutMs: v.integer('connect-timeout', input('connect-timeout'), 1, 600) * 1000,
    commandTimeoutMs: v.integer('command-timeout', input('command-timeout'), 1, 86400) * 1000,
  };
}
