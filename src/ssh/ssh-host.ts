import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import type { DockerApi } from '../docker-api.js';
import type { ExecOptions, ExecResult, HttpAnswer, RemoteHost } from '../remote-host.js';
import type { HealthUrl } from '../settings.js';
import { dockerOverSsh } from './docker-over-ssh.js';

const STDOUT_LIMIT = 256 * 1024 * 1024;
const STDERR_TAIL = 64 * 1024;

/** How long close() waits for the server to close the connection before dropping it. */
const CLOSE_GRACE_MS = 100;

export class SshHost implements RemoteHost {
  readonly docker: DockerApi;
  private closed = false;
  /**
   * Rejects once the connection is gone. Every pending operation races it: a stream cut with the
   * connection does not always end, and a promise left pending would let node exit mid-step with
   * no error at all.
   */
  private readonly lost: Promise<never>;
  private gone = false;

  constructor(
    private readonly client: Client,
    private readonly jump: Client | null,
    readonly description: string,
    private readonly commandTimeoutMs: number,
    dockerSocket = '/var/run/docker.sock',
  ) {
    this.lost = new Promise<never>((_, reject) => {
      const gone = () => {
        this.gone = true;
        if (!this.closed) reject(new Error(`the SSH connection to ${description} was lost`));
      };
      client.once('close', gone);
      jump?.once('close', gone);
    });
    this.lost.catch(() => undefined);
    this.docker = dockerOverSsh(client, dockerSocket, (p) => this.guard(p));
  }

  private guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lost]);
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.gone) return this.lost;
    return this.guard(this.execOnce(command, opts));
  }

  private execOnce(command: string, opts: ExecOptions): Promise<ExecResult> {
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
        // The channel keeps the process alive while it is open; a lost connection must not leave the
        // timer doing so for command-timeout.
        timer.unref();
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
        if (!opts.holdStdin) channel.end(opts.stdin ?? undefined);
        else void opts.holdStdin.finally(() => channel.end());
      });
    });
  }

  httpGet(url: HealthUrl, timeoutMs: number): Promise<HttpAnswer> {
    return this.guard(this.httpGetOnce(url, timeoutMs));
  }

  private async httpGetOnce(url: HealthUrl, timeoutMs: number): Promise<HttpAnswer> {
    let stream: Duplex;
    try {
      stream = await new Promise<Duplex>((resolve, reject) =>
        this.client.forwardOut('127.0.0.1', 0, url.host, url.port, (err, s) =>
          err ? reject(err) : resolve(s),
        ),
      );
    } catch (err) {
      // The host refused the forward: nothing listens there (yet). That is an answer, not a crash.
      return {
        status: 0,
        body: '',
        error: `no connection to ${url.host}:${url.port} (${(err as Error).message})`,
      };
    }
    return new Promise((resolve) => {
      const socket =
        url.protocol === 'https:'
          ? // The endpoint is on the host, reached through the verified SSH connection; its certificate
            // (often self-signed on localhost) adds nothing to that trust.
            tls.connect({ socket: stream, servername: url.host, rejectUnauthorized: false })
          : stream;
      const request = (url.protocol === 'https:' ? https : http).request(
        {
          createConnection: () => socket as never,
          method: 'GET',
          path: url.path,
          headers: { host: `${url.host}:${url.port}`, 'user-agent': 'eqmd-rollback', connection: 'close' },
          timeout: timeoutMs,
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            if (body.length < 512) body += chunk.toString('utf8');
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 512), error: '' }));
          res.on('error', (err) => resolve({ status: res.statusCode ?? 0, body, error: err.message }));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (err) => {
        stream.destroy();
        resolve({ status: 0, body: '', error: err.message });
      });
      request.end();
    });
  }

  /**
   * Says goodbye, then stops waiting: sshd can take most of a second to close its side, and the runner
   * (and the next job) waits for this process to exit. Every command has finished by now.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.end();
    this.jump?.end();
    if (!this.gone) await Promise.race([closed, new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
    this.client.destroy();
    this.jump?.destroy();
  }
}
