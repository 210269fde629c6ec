import http from 'node:http';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { Client } from 'ssh2';
import { dockerApiFrom, type DockerApi } from '../docker-api.js';

/**
 * Carries Docker Engine API requests over the existing SSH connection: each HTTP connection is a
 * forwarded stream to the host's docker socket (OpenSSH streamlocal), so no extra handshake and no
 * docker CLI round trip are needed.
 */
class StreamLocalAgent extends http.Agent {
  constructor(
    private readonly client: Client,
    private readonly socketPath: string,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    this.client.openssh_forwardOutStreamLocal(this.socketPath, (err, stream) => {
      const failure =
        err && new Error(`could not reach ${this.socketPath} on the host over SSH: ${err.message}`);
      callback?.(failure ?? null, stream);
    });
    return undefined;
  }
}

/** DockerApi over the SSH connection; `wrap` guards each call (a lost connection rejects it). */
export function dockerOverSsh(
  client: Client,
  socketPath: string,
  wrap: <T>(p: Promise<T>) => Promise<T>,
): DockerApi {
  const agent = new StreamLocalAgent(client, socketPath);
  const api = dockerApiFrom(
    new Docker({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions),
  );
  return Object.fromEntries(
    Object.entries(api).map(([name, fn]) => [
      name,
      (...args: unknown[]) => wrap((fn as (...a: unknown[]) => Promise<unknown>)(...args)),
    ]),
  ) as unknown as DockerApi;
}
