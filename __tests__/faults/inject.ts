import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  connectionInputs,
  pgQuery,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type Instance,
} from '../e2e/harness.js';

/** Injections and invariant checks shared by the fault tests: everything here acts on the real host. */

/**
 * Inputs to run the action against one instance: b over docker-compose v1 (its login), the others over
 * `docker compose`, unless a flavour is named; no artifact upload.
 */
export function instanceInputs(i: Instance, flavor?: 'v1' | 'v2' | 'pty'): Record<string, string> {
  const h = testHost();
  return {
    ...connectionInputs(h, flavor ?? (i.projectDir === h.instances.b.projectDir ? 'v1' : 'v2')),
    'project-dir': i.projectDir,
    'health-url': i.healthUrl,
    'upload-artifact': 'false',
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Cuts the SSH connection of one client process (the action under test) by killing the sshd
 * processes serving it, as a network cut or a host-side kill would end it. Other connections (other
 * tests, other users) are not touched: the connection is found by the client's own socket.
 */
export function cutConnectionOf(clientPid: number, sshPort = 2222): number {
  const mine = sh(`ss -tnpH state established '( dport = :${sshPort} )' || true`)
    .split('\n')
    .filter((l) => l.includes(`pid=${clientPid},`));
  let killed = 0;
  for (const line of mine) {
    const local = /\s(\S+):(\d+)\s+\S+:\d+\s/.exec(line)?.[2];
    if (!local) continue;
    const server = sh(`ss -tnpH state established '( sport = :${sshPort} and dport = :${local} )' || true`);
    const pids = [...new Set([...server.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
  }
  return killed;
}

export function backupDirOf(i: Instance): string {
  return join(i.projectDir, 'backups');
}

export interface SetOnDisk {
  id: string;
  manifest: {
    id: string;
    reason: string;
    created: string;
    image: { id: string; reference: string; backupTag: string; envValue: string };
    files: { path: string; sha256: string; bytes: number }[];
    database: { kind: string; file?: string; tables?: Record<string, number> };
    restoreTarget?: string;
  };
}

/** A committed set's manifest as read here, or why it cannot be read (never a crash). */
function readSet(dir: string, id: string): SetOnDisk | string {
  const file = join(dir, id, 'manifest.json');
  if (!existsSync(file)) return `set ${id} has no manifest.json`;
  const text = readFileSync(file, 'utf8');
  if (!text) return `set ${id} was committed with an empty manifest.json`;
  try {
    const manifest = JSON.parse(text) as SetOnDisk['manifest'];
    if (typeof manifest?.created !== 'string' || !Array.isArray(manifest.files))
      return `set ${id}: manifest.json lacks created or files`;
    return { id, manifest };
  } catch (err) {
    return `set ${id}: manifest.json is not JSON (${(err as Error).message}, ${text.length} bytes)`;
  }
}

function committedIds(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((d) => !d.startsWith('.')) : [];
}

/** Complete sets (a whole manifest.json) of the instance, newest first; invalidSetsOf names the rest. */
export function setsOf(i: Instance, dir = backupDirOf(i)): SetOnDisk[] {
  return committedIds(dir)
    .map((id) => readSet(dir, id))
    .filter((s): s is SetOnDisk => typeof s !== 'string')
    .sort((a, b) => b.manifest.created.localeCompare(a.manifest.created) || b.id.localeCompare(a.id));
}

/**
 * Directories under their final name whose manifest is missing, empty or unreadable: promise 1 says a
 * set is renamed into place only when complete, so each is a violation.
 */
export function invalidSetsOf(i: Instance, dir = backupDirOf(i)): string[] {
  return committedIds(dir)
    .map((id) => readSet(dir, id))
    .filter((s): s is string => typeof s === 'string');
}

/** Temp sets (.tmp-*) left in the backup dir. */
export function tempSetsOf(i: Instance, dir = backupDirOf(i)): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('.tmp-')) : [];
}

/** Every problem of the complete sets: a listed file missing, or not matching its checksum. */
export function setProblems(i: Instance, dir = backupDirOf(i)): string[] {
  const problems: string[] = [];
  for (const s of setsOf(i, dir)) {
    for (const f of s.manifest.files) {
      const p = join(dir, s.id, f.path);
      if (!existsSync(p)) problems.push(`${s.id}: manifest lists ${f.path}, which is missing`);
      else if (createHash('sha256').update(readFileSync(p)).digest('hex') !== f.sha256)
        problems.push(`${s.id}: ${f.path} fails its checksum`);
    }
  }
  return problems;
}

export function lockHeld(i: Instance): boolean {
  return existsSync(join(i.projectDir, '.eqmd-rollback.lock'));
}

/** Containers of the app service that run, candidates included: "one version running" means one. */
export function runningAppContainers(i: Instance): string[] {
  const byLabel = sh(
    `docker ps -q --filter label=com.docker.compose.project=${i.composeProject} --filter label=com.docker.compose.service=${i.appService}`,
  );
  const candidate = sh(`docker ps -q --filter name=^eqmd-rollback-candidate-${i.composeProject}$`);
  return [...byLabel.split('\n'), ...candidate.split('\n')].filter(Boolean);
}

/**
 * The test host's release tags (`<registry>/eqmd:v1`…`v7`) must still name the releases they were
 * built as: the action retags images when it restores one, and a retag under the wrong reference
 * silently turns a version into another for every later deploy. Each image carries APP_VERSION.
 */
export function versionTagProblems(): string[] {
  const repo = testHost().image;
  const problems: string[] = [];
  for (let n = 1; n <= 7; n++) {
    const tag = `${repo}:v${n}`;
    const env = sh(`docker image inspect --format '{{json .Config.Env}}' ${tag} 2>/dev/null || true`).trim();
    const version = env
      ? (JSON.parse(env) as string[]).find((e) => e.startsWith('APP_VERSION='))?.slice(12)
      : '';
    if (version !== `v${n}`)
      problems.push(`tag ${tag} ${version ? `now names release ${version}` : 'is gone'}`);
  }
  return problems;
}

/** Helper containers of the action still present (running or not). */
export function helperContainers(): string[] {
  return sh('docker ps -aq --filter label=eqmd-rollback.helper').split('\n').filter(Boolean);
}

export async function healthStatus(i: Instance): Promise<number> {
  try {
    return (await fetch(i.healthUrl, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
}

/** Patient names in a SQLite file on the host (read-only; the sqlite3 CLI is a test-host package). */
export function sqliteNames(path: string): string[] {
  // A reader of a live WAL database can meet a lock for a moment (a checkpoint): wait, as the app does.
  return execFileSync(
    'sqlite3',
    ['-readonly', '-cmd', '.timeout 5000', path, 'SELECT name FROM records_patient'],
    {
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter(Boolean);
}

/** Patient names in a pg_dump -Fc file, read with the host's pg_restore. */
export function dumpNames(path: string): string[] {
  const sql = execFileSync('pg_restore', ['--data-only', '-t', 'records_patient', '-f', '-', path], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const lines = sql.split('\n');
  const start = lines.findIndex((l) => l.startsWith('COPY public.records_patient '));
  if (start < 0) return [];
  const cols = /\(([^)]*)\)/
    .exec(lines[start]!)![1]!
    .split(',')
    .map((c) => c.trim());
  const at = cols.indexOf('name');
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l === '\\.') break;
    out.push(l.split('\t')[at]!);
  }
  return out;
}

/** Names in a set's database file. */
export function setNames(i: Instance, s: SetOnDisk, dir = backupDirOf(i)): string[] {
  const file = s.manifest.database.file;
  if (!file) return [];
  const p = join(dir, s.id, file);
  return s.manifest.database.kind === 'sqlite' ? sqliteNames(p) : dumpNames(p);
}

/** The volume's directory on the host (the tests run as root). */
export function volumePath(volume: string): string {
  return sh(`docker volume inspect -f '{{.Mountpoint}}' ${volume}`).trim();
}

/** Patient names in the live database of the instance. */
export function liveNames(i: Instance): string[] {
  if (i.database === 'sqlite')
    return sqliteNames(join(volumePath(`${i.composeProject}_database`), 'db.sqlite3'));
  return pgQuery(i, 'SELECT name FROM records_patient').split('\n').filter(Boolean);
}

/** Runs the action and cuts its SSH connection when `when` first holds; then the post step, as the runner does. */
export async function cutWhen(
  i: Instance,
  inputs: Record<string, string>,
  env: Record<string, string>,
  when: () => boolean,
) {
  let pid = 0;
  let cut = 0;
  const main = await runAction(
    { ...instanceInputs(i), ...inputs },
    {
      env,
      onSpawn: (p) => (pid = p),
      killWhen: () => {
        if (!cut && pid && when()) cut = cutConnectionOf(pid);
        return false;
      },
    },
  );
  const post = await runAction({ ...instanceInputs(i), ...inputs }, { env, dir: main.dir, post: true });
  return { main, post, cut };
}

/**
 * For a test that needs `version` serving, healthy, with nothing of a run left behind (no lock, no
 * temporary set, no helper container), but not a pristine instance: the state the test before it in the
 * file ends in is kept (a reset costs 6 to 8 s); any other state, a failed test's included, is reset.
 */
export async function resetUnlessServing(i: Instance, version: string): Promise<void> {
  const name = i.composeProject.replace(/^eqmd-/, '') as 'a' | 'b' | 'c' | 'd';
  const clean =
    (await servedVersion(i).catch(() => '')) === version &&
    (await healthStatus(i)) === 200 &&
    !lockHeld(i) &&
    tempSetsOf(i).length === 0 &&
    helperContainers().length === 0 &&
    runningAppContainers(i).length === 1;
  if (!clean) resetInstance(name);
}
