import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import { InputError, RefusedError } from '../errors.js';
import type { ConnectionSettings } from '../settings.js';
import { decideHostKey, type HostKeyDecision } from './host-key.js';

// ssh2 is CommonJS: its default export works both bundled and under Node's ESM loader (the tests),
// where named imports of it do not link.
const { utils } = ssh2;

export interface Endpoint {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase: string;
  password: string;
  fingerprints: readonly string[];
}

/** Checks that a key parses (and its passphrase is right) before any connection, without echoing it. */
export function checkPrivateKey(input: string, key: string, passphrase: string): void {
  if (!key) return;
  const parsed = utils.parseKey(key, passphrase || undefined);
  if (parsed instanceof Error) {
    throw new InputError(input, '***', `an OpenSSH or PEM private key that parses (${parsed.message})`);
  }
}

/**
 * Opens one verified SSH connection, through the jump host when one is set. `onHandshake` counts
 * handshakes (the benchmark reports them) and records how each host key was accepted.
 */
export async function connect(
  settings: ConnectionSettings,
  onHandshake: (endpoint: string, how: string) => void,
): Promise<{ client: Client; jump: Client | null }> {
  let jump: Client | null = null;
  let sock: Duplex | undefined;
  if (settings.jump) {
    const j = settings.jump;
    jump = await open(j, settings, undefined, onHandshake);
    sock = await new Promise<Duplex>((resolve, reject) => {
      jump!.forwardOut('127.0.0.1', 0, settings.host, settings.port, (err, stream) =>
        err
          ? reject(
              new RefusedError(
                `jump host ${j.host} could not reach ${settings.host}:${settings.port}: ${err.message}`,
              ),
            )
          : resolve(stream),
      );
    });
  }
  try {
    const client = await open(settings, settings, sock, onHandshake);
    return { client, jump };
  } catch (err) {
    jump?.end();
    throw err;
  }
}

function open(
  endpoint: Endpoint,
  settings: ConnectionSettings,
  sock: Duplex | undefined,
  onHandshake: (endpoint: string, how: string) => void,
): Promise<Client> {
  const name = `${endpoint.username}@${endpoint.host}:${endpoint.port}`;
  let decision: HostKeyDecision | null = null;
  const config: ConnectConfig = {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.username,
    readyTimeout: settings.connectTimeoutMs,
    // Without keepalives a dead link (host rebooted, NAT dropped) hangs a run until the job times out.
    keepaliveInterval: 10_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer): boolean => {
      decision = decideHostKey({
        keyBlob: key,
        host: endpoint.host,
        port: endpoint.port,
        fingerprints: endpoint.fingerprints,
        knownHosts: settings.knownHosts,
        insecureIgnoreHostKey: settings.insecureIgnoreHostKey,
      });
      return decision.accept;
    },
  };
  if (sock) config.sock = sock;
  if (endpoint.privateKey) config.privateKey = endpoint.privateKey;
  if (endpoint.passphrase) config.passphrase = endpoint.passphrase;
  if (endpoint.password) config.password = endpoint.password;

  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => {
      onHandshake(name, decision?.accept ? decision.how : 'unknown');
      resolve(client);
    });
    client.once('error', (err: Error & { level?: string }) => {
      client.end();
      if (decision && !decision.accept) {
        reject(new RefusedError(`SSH to ${name} refused before any command ran: ${decision.why}`));
      } else if (err.level === 'client-authentication') {
        reject(
          new RefusedError(
            `SSH authentication as ${name} failed: check private-key/passphrase/password (${err.message})`,
          ),
        );
      } else if (/Timed out while waiting for handshake/.test(err.message)) {
        reject(
          new RefusedError(
            `SSH to ${name} timed out after ${settings.connectTimeoutMs / 1000} s (connect-timeout)`,
          ),
        );
      } else {
        reject(new RefusedError(`SSH to ${name} failed: ${err.message}`));
      }
    });
    // A connection closed during the handshake emits no error: without this the run would hang up.
    client.once('close', () =>
      reject(new RefusedError(`SSH to ${name} closed during the handshake; nothing was run`)),
    );
    client.connect(config);
    // Nagle's algorithm off (ssh2 leaves it on): every command, Docker API call and health probe is a
    // small packet waiting on the answer to the one before, and with Nagle each waited for a delayed
    // ACK. Measured on the test host: a Docker API call 90 ms → 10 ms, an exec of `true` 60–95 → 12 ms.
    // Through a jump host this sets it on the jump's TCP connection (the target's runs inside it).
    client.setNoDelay(true);
  });
}
