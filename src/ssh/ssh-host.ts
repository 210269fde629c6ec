import http from 'node:http';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { Client } from 'ssh2';
import { dockerApiFrom, type DockerApi } from '../docker-api.js';
import type { ExecOptions, ExecResult, RemoteHost } from '../remote-host.js';

const STDOUT_LIMIT = 256 * 1024 * 1024;
const STDERR_TAIL = 64 * 1024;

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

export class SshHost implements RemoteHost {
  readonly docker: DockerApi;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly jump: Client | null,
    readonly description: string,
    private readonly commandTimeoutMs: number,
    dockerSocket = '/var/run/docker.sock',
  ) {
    const agent = new StreamLocalAgent(client, dockerSocket);
    this.docker = dockerApiFrom(
      new Docker({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions),
    );
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel) => {
        if (err)
          return reject(new Error(`could not open an SSH channel on ${this.description}: ${err.message}`));
        const stdout: Buffer[] = [];
        let stdoutBytes = 0;
        let stderr = '';
        let code: number | null = null;
        let signal: string | null = null;
        const timer = setTimeout(() => {
          // OpenSSH may ignore the signal request; closing the channel hangs up the remote side.
          channel.signal('KILL');
          channel.close();
          reject(
            new Error(
              `remote command timed out after ${timeoutMs / 1000} s (command-timeout) on ${this.description}`,
            ),
          );
        }, timeoutMs);
        channel.on('data', (chunk: Buffer) => {
          stdoutBytes += chunk.length;
          if (stdoutBytes <= STDOUT_LIMIT) stdout.push(chunk);
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
        });
        channel.on('exit', (c: number | null, s?: string) => {
          code = c;
          signal = s ?? null;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          if (stdoutBytes > STDOUT_LIMIT) {
            return reject(new Error(`remote command printed more than ${STDOUT_LIMIT} bytes on stdout`));
          }
          resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
        });
        channel.end(opts.stdin ?? undefined);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
    this.jump?.end();
  }
}
