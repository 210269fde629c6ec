import type { DockerApi } from './docker-api.js';
import type { HealthUrl } from './settings.js';

/** One HTTP answer, or the reason there was none (status 0). */
export interface HttpAnswer {
  status: number;
  /** The first bytes of the body, for reports. */
  body: string;
  error: string;
}

export interface ExecOptions {
  /** Sent on the command's stdin, then closed: how secrets and file contents reach the host. */
  stdin?: string | Buffer;
  /** Overrides the connection's command timeout. */
  timeoutMs?: number;
  /**
   * Leave stdin open (no stdin data) until this settles: the command sees EOF then, or when the
   * connection ends. The lock's keeper uses it to live as long as this run's connection, and to be
   * told at once when the lock is released (rather than noticing on its next poll).
   */
  holdStdin?: Promise<unknown>;
}

export interface ExecResult {
  /** null when the remote process died by a signal or the channel closed without a status. */
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * The host as operations see it: run a command, talk to its Docker engine. The SSH transport implements
 * it for real; unit tests implement it with a scripted fake.
 */
export interface RemoteHost {
  /** user@host:port, for messages. */
  readonly description: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  readonly docker: DockerApi;
  /** GET a URL as the host sees it (through the SSH connection: no curl needed on the host). */
  httpGet(url: HealthUrl, timeoutMs: number): Promise<HttpAnswer>;
  close(): Promise<void>;
}
