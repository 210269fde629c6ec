import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import {
  addRecord,
  envFileOf,
  pgQuery,
  recordCount,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  sshdLogLines,
  testHost,
  type ActionRun,
  type Instance,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import {
  backupDirOf,
  healthStatus,
  helperContainers,
  lockHeld,
  setProblems,
  setsOf,
  tempSetsOf,
  waitFor,
  instanceInputs,
} from './inject.js';

const h = testHost();
const { a, b } = h.instances;
const run = (i: Instance, inputs: Record<string, string>, flavor?: 'v1' | 'v2' | 'pty') =>
  runAction({ ...instanceInputs(i, flavor), ...inputs });
const tags = (i: Instance) =>
  sh(`docker images -q --filter reference='eqmd-rollback/${i.composeProject}:*' | sort -u`);
const pgContainer = (i: Instance) =>
  sh(
    `docker ps -aq --filter label=com.docker.compose.project=${i.composeProject} --filter label=com.docker.compose.service=postgres`,
  ).trim();

/** What must not change when a backup fails: no set, no temp set, no tag, no helper, no lock, app as it was. */
async function untouched(i: Instance, before: { sets: number; tags: string; env: string; rows: number }) {
  assert.equal(setsOf(i).length, before.sets, 'no set recorded as complete');
  assert.deepEqual(tempSetsOf(i), [], 'the temporary set was removed');
  assert.equal(tags(i), before.tags, 'no backup tag left behind');
  assert.deepEqual(helperContainers(), [], 'no helper container left behind');
  assert.equal(lockHeld(i), false, 'lock released');
  assert.equal(envFileOf(i), before.env, 'env file untouched');
  assert.equal(await healthStatus(i), 200, 'the app still serves');
  assert.equal(await recordCount(i), before.rows, 'rows untouched');
}
const snapshot = async (i: Instance) => ({
  sets: setsOf(i).length,
  tags: tags(i),
  env: envFileOf(i),
  rows: await recordCount(i),
});
const failedWith = (r: ActionRun, re: RegExp) => {
  assert.notEqual(r.code, 0, 'the step must fail');
  assert.match(r.stdout, re);
};

describe('backup faults', () => {
  fault(1, 'writer loop on SQLite (WAL) during backup', async () => {
    resetInstance('a');
    let stop = false;
    let written = 0;
    const writer = async (n: number) => {
      for (let k = 0; !stop; k++) {
        await addRecord(a, `w${n}-${k}`);
        written++;
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await waitFor('the writers to start', () => written > 20);
    const atStart = await recordCount(a);
    const r = await run(a, { command: 'backup' });
    stop = true;
    await Promise.all(writers);
    const atEnd = await recordCount(a);
    assert.equal(r.code, 0, r.stdout);
    const set = setsOf(a)[0]!;
    const rows = set.manifest.database.tables!['records_patient'] ?? -1;
    assert.ok(
      rows >= atStart && rows <= atEnd,
      `copy has ${rows} rows; ${atStart} at start, ${atEnd} at end`,
    );
    const file = join(backupDirOf(a), set.id, 'database.sqlite3');
    assert.equal(sh(`sqlite3 ${file} 'PRAGMA integrity_check'`).trim(), 'ok');
    assert.equal(Number(sh(`sqlite3 ${file} 'SELECT count(*) FROM records_patient'`)), rows);
    assert.deepEqual(setProblems(a), []);
    return `copy holds ${rows} rows (${atStart} at start, ${atEnd} at end, ${written} writes during the run); integrity ok; checksums match`;
  });

  fault(5, 'pg_dump killed mid-dump, postgres down, commands forced under a pty', async () => {
    resetInstance('b');
    const before = await snapshot(b);
    // 1. The server kills pg_dump's session while it waits for a table lock another session holds.
    const pg = pgContainer(b);
    const holder = spawn('docker', [
      'exec',
      pg,
      'sh',
      '-c',
      'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "BEGIN; LOCK TABLE records_patient IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"',
    ]);
    await waitFor(
      'the lock holder',
      () =>
        pgQuery(b, "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted").trim() !==
        '0',
      20_000,
    );
    const dumping = run(b, { command: 'backup' });
    await waitFor(
      'pg_dump to wait on the lock',
      () =>
        pgQuery(b, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'").trim() !== '0',
      30_000,
    );
    pgQuery(
      b,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('pg_dump', 'psql') AND pid <> pg_backend_pid()",
    );
    const killed = await dumping;
    holder.kill();
    failedWith(killed, /Dump PostgreSQL .* (exited with code|was killed)/);
    await untouched(b, before);

    // 2. Postgres is down.
    sh(`docker stop ${pg} >/dev/null`);
    try {
      const down = await run(b, { command: 'backup', database: 'postgres' });
      failedWith(down, /postgres/i);
      assert.equal(setsOf(b).length, before.sets);
      assert.deepEqual(tempSetsOf(b), []);
      assert.equal(lockHeld(b), false);
    } finally {
      sh(`docker start ${pg} >/dev/null`);
    }
    await waitFor(
      'b to serve again',
      () => sh(`curl -s -o /dev/null -w '%{http_code}' ${b.healthUrl} || true`).trim() === '200',
      60_000,
    );

    // 3. Every command of the session forced under a pty (ForceCommand session recording).
    const started = Date.now();
    const beforeA = { sets: setsOf(a).length, tags: tags(a), env: envFileOf(a), rows: await recordCount(a) };
    const pty = await run(a, { command: 'backup' }, 'pty');
    failedWith(pty, /runs SSH commands under a terminal \(pty\)/);
    assert.ok(Date.now() - started < 30_000, 'refused at once, not after a hang');
    // ::add-mask:: lines are the runner's protocol (it strips them); nothing else may carry the key.
    const shown = pty.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    assert.ok(!shown.some((l) => l.includes('OPENSSH PRIVATE KEY')), 'the key is never echoed');
    await untouched(a, beforeA);
    return 'pg_dump killed: step failed, no set, no temp, no tag; postgres down: refused; pty: refused before the first change';
  });

  fault(6, 'disk full on the backup dir (small tmpfs)', async () => {
    resetInstance('a');
    const tiny = join(a.projectDir, 'tiny-disk');
    sh(
      `mkdir -p ${tiny} && mount -t tmpfs -o size=16k,mode=0770,uid=$(id -u deploy),gid=$(getent group docker | cut -d: -f3) tmpfs ${tiny}`,
    );
    try {
      const before = await snapshot(a);
      const r = await run(a, { command: 'backup', 'backup-dir': tiny });
      failedWith(r, /no space left on device/i);
      assert.deepEqual(readdirSync(tiny), [], 'the temporary set was removed: the disk holds nothing');
      await untouched(a, before);
      // A deploy needs a verified backup first: with the disk full it changes nothing.
      const d = await run(a, { command: 'deploy', version: 'v2', 'backup-dir': tiny });
      failedWith(d, /no space left on device/i);
      assert.equal(await servedVersion(a), 'v1');
      await untouched(a, before);
      assert.deepEqual(readdirSync(tiny), []);
    } finally {
      sh(`umount ${tiny} && rmdir ${tiny}`);
    }
    return 'backup and deploy fail with ENOSPC; the tmpfs is empty (temp set removed, no manifest); app, env, rows untouched';
  });

  fault(13, 'hostile version strings', async () => {
    const marker = `/tmp/eqmd-fault13-${process.pid}`;
    const hostile = [
      `v1$(touch ${marker})`,
      'v1;reboot',
      '-v1',
      'v1\nv2',
      `v${'1'.repeat(128)}`,
      'v1`touch ' + marker + '`',
    ];
    const sshdBefore = sshdLogLines();
    for (const version of hostile) {
      for (const command of ['deploy', 'rollback']) {
        const r = await run(a, { command, version });
        failedWith(r, /Invalid input 'version'/);
      }
    }
    assert.equal(sshdLogLines(), sshdBefore, 'no connection was even opened');
    assert.equal(existsSync(marker), false, 'no file created on this machine (runner and host alike)');
    return `${hostile.length} strings × deploy/rollback refused before SSH; no marker file; sshd log unchanged`;
  });

  fault(14, 'host key changed, or none configured', async () => {
    const before = { sets: setsOf(a).length, lock: lockHeld(a), accepted: acceptedLogins() };
    const changed = await run(a, { command: 'backup', 'host-fingerprint': h.ssh.jump.fingerprint });
    failedWith(changed, /host key mismatch/);
    const lines = sshdLogLines();
    const none = await run(a, { command: 'backup', 'host-fingerprint': '' });
    failedWith(none, /Invalid input 'host-fingerprint'/);
    assert.equal(sshdLogLines(), lines, 'with no key configured, sshd saw no connection at all');
    assert.deepEqual({ sets: setsOf(a).length, lock: lockHeld(a), accepted: acceptedLogins() }, before);
    return 'changed key: aborted before authentication (no login in the sshd log); none: refused before connecting; no set, no lock';
  });
});

/** Logins sshd accepted so far: a refused run must not add one. */
function acceptedLogins(): number {
  return Number(
    sh(`grep -c 'Accepted ' ${join(import.meta.dirname, '../../testhost/.state/sshd.log')} || true`),
  );
}
