import { newBackupId } from '../../src/backup/backup-id.js';
import type { ContainerInfo, DockerApi, ImageInfo } from '../../src/docker-api.js';
import type { Log } from '../../src/log.js';
import type { ExecOptions, ExecResult, HttpAnswer, RemoteHost } from '../../src/remote-host.js';
import type { HealthUrl } from '../../src/settings.js';

export type Reply = Partial<Omit<ExecResult, 'stdout'>> & { stdout?: string | Buffer };

/** A host that records every command and answers from a script of (pattern → reply) rules. */
export class FakeHost implements RemoteHost {
  readonly description = 'fake@host:22';
  readonly commands: { command: string; stdin?: string }[] = [];
  readonly rules: [RegExp, Reply | ((command: string, stdin?: string) => Reply)][] = [];
  docker: DockerApi;
  /** Answers for httpGet, consumed in order; the last one repeats. */
  http: HttpAnswer[] = [{ status: 200, body: 'ok', error: '' }];
  readonly httpCalls: HealthUrl[] = [];

  constructor(docker: Partial<DockerApi> = {}) {
    this.docker = {
      serviceContainers: async () => [],
      inspectContainer: async (id) => {
        throw new Error(`no container ${id}`);
      },
      inspectImage: async () => null,
      volumeExists: async () => false,
      // As an unmatched command answers: exit 0, there.
      fileExists: async () => true,
      logTail: async () => '',
      stopContainer: async () => {},
      startContainer: async () => {},
      // Recorded and answered as a command, so the same rules script it (e.g. /manage\.py shell/).
      runLike: async (like, spec) => {
        const r = await this.exec(
          `docker-api run-like ${like} ${spec.image} ${[...spec.entrypoint, ...spec.cmd].join(' ')}`,
        );
        return { code: r.code ?? 0, stdout: r.stdout.toString(), stderr: r.stderr };
      },
      ...docker,
    };
  }

  on(pattern: RegExp, reply: Reply | ((command: string, stdin?: string) => Reply)): this {
    this.rules.unshift([pattern, reply]);
    return this;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.stdin === undefined ? undefined : opts.stdin.toString();
    this.commands.push(stdin === undefined ? { command } : { command, stdin });
    const rule = this.rules.find(([re]) => re.test(command));
    const reply = rule ? (typeof rule[1] === 'function' ? rule[1](command, stdin) : rule[1]) : {};
    // A command holding stdin (the lock's keeper) ends at EOF, as the real one does.
    if (opts.holdStdin) await opts.holdStdin;
    return {
      code: reply.code ?? 0,
      signal: reply.signal ?? null,
      stdout: Buffer.from(reply.stdout ?? ''),
      stderr: reply.stderr ?? '',
    };
  }

  async httpGet(url: HealthUrl): Promise<HttpAnswer> {
    this.httpCalls.push(url);
    return this.http.length > 1 ? this.http.shift()! : this.http[0]!;
  }

  ran(pattern: RegExp): boolean {
    return this.commands.some((c) => pattern.test(c.command));
  }

  async close(): Promise<void> {}
}

export const silentLog = (): Log & { lines: string[] } => {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
};

export const appContainer: ContainerInfo = {
  id: 'c0ffee',
  name: 'eqmd-a_eqmd_1',
  image: 'registry.local/eqmd:v1',
  imageId: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  running: true,
  restarting: false,
  status: 'running',
  exitCode: 0,
  restartCount: 0,
  health: '',
  created: '2026-11-24T10:00:00Z',
  networkMode: 'eqmd-a_default',
  ports: [{ hostPort: 8778, containerPort: '8000/tcp' }],
  labels: { 'com.docker.compose.project': 'eqmd-a' },
  mounts: [
    { type: 'volume', name: 'eqmd-a_database', source: '', destination: '/app/database' },
    { type: 'volume', name: 'eqmd-a_media_files', source: '', destination: '/app/media' },
  ],
  networks: { 'eqmd-a_default': '172.18.0.2' },
};

export const appImage: ImageInfo = {
  id: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  repoTags: ['registry.local/eqmd:v1'],
  repoDigests: [
    'registry.local/eqmd@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ],
};

/**
 * A run's clock as a real run lives it: time passes between reading it (a stop, a copy), ids are made
 * from it as it is then, and each id is its own.
 */
export function runClock(start: string, stepMs = 700): { newId: () => string; now: () => Date } {
  let at = Date.parse(start);
  let made = 0;
  return {
    newId: () => newBackupId(new Date(at), Buffer.from([0xab, 0xcd, made++])),
    now: () => new Date((at += stepMs)),
  };
}
