import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import {
  addRecord,
  pgQuery,
  recordCount,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import {
  backupDirOf,
  cutWhen,
  healthStatus,
  helperContainers,
  liveNames,
  lockHeld,
  runningAppContainers,
  setNames,
  setProblems,
  setsOf,
  tempSetsOf,
  volumePath,
  instanceInputs,
} from './inject.js';

const h = testHost();
const { a, b } = h.instances;
const run = (i: Instance, inputs: Record<string, string>, env: Record<string, string> = {}) =>
  runAction({ ...instanceInputs(i), ...inputs }, { env });
const ok = (r: ActionRun) => assert.equal(r.code, 0, r.stdout.slice(-3000));
const attempt = (runId: string, n: number) => ({ GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(n) });

/** After an interruption and the post step: nothing half-made, nothing held. */
function settled(i: Instance) {
  assert.deepEqual(tempSetsOf(i), [], 'no temporary set left');
  assert.equal(lockHeld(i), false, 'no lock left by the dead run');
  assert.deepEqual(setProblems(i), [], 'every complete set passes its checksums');
  assert.deepEqual(helperContainers(), [], 'no helper container left');
}

describe('interruptions and concurrency', () => {
  fault(
    7,
    'SSH connection cut or runner killed mid-backup, mid-deploy and mid-restore, then a re-run',
    async () => {
      // Mid-backup (SQLite): once the database copy is in the temp set.
      resetInstance('a');
      const tmpDb = () => tempSetsOf(a).some((t) => existsSync(join(backupDirOf(a), t, 'database.sqlite3')));
      const bk = await cutWhen(a, { command: 'backup' }, attempt('7001', 1), tmpDb);
      assert.ok(bk.cut > 0, 'the connection was cut');
      assert.notEqual(bk.main.code, 0, 'a cut backup is not reported done');
      settled(a);
      assert.equal(await healthStatus(a), 200);
      ok(await run(a, { command: 'backup' }, attempt('7001', 2)));

      // Mid-restore (SQLite): once the restored copy is being written into the volume.
      const set = setsOf(a)[0]!;
      for (let k = 0; k < 3; k++) await addRecord(a, `live-${k}`);
      const before = liveNames(a).sort();
      const inSet = setNames(a, set).sort();
      const dbDir = volumePath('eqmd-a_database');
      const restoring = () => readdirSync(dbDir).some((f) => f.startsWith('.eqmd-restore-'));
      const inputs = { command: 'rollback', 'backup-id': set.id, scope: 'full' };
      const rs = await cutWhen(a, inputs, attempt('7002', 1), restoring);
      assert.ok(rs.cut > 0);
      assert.notEqual(rs.main.code, 0);
      assert.match(
        rs.post.stdout,
        /::error::service eqmd is down: the interrupted rollback to \S+ had begun overwriting/,
        'the post step says the service stays stopped, and why',
      );
      settled(a);
      const now = liveNames(a).sort();
      assert.ok(
        JSON.stringify(now) === JSON.stringify(before) || JSON.stringify(now) === JSON.stringify(inSet),
        'the live database is either untouched or the whole set, never half of it',
      );
      assert.equal(sh(`sqlite3 ${join(dbDir, 'db.sqlite3')} 'PRAGMA integrity_check'`).trim(), 'ok');
      ok(await run(a, inputs, attempt('7002', 2)));
      assert.deepEqual(liveNames(a).sort(), inSet, 'the re-run converged on the set');
      assert.equal(runningAppContainers(a).length, 1);
      assert.equal(await healthStatus(a), 200);
      settled(a);

      // Runner killed while the rollback snapshots what it will overwrite (service stopped, nothing
      // overwritten yet): the post step starts the very container it stopped, and it serves the same rows.
      const rows = liveNames(a).sort();
      const appId = runningAppContainers(a)[0];
      const snapshotting = () => tempSetsOf(a).length > 0 && runningAppContainers(a).length === 0;
      const sk = await runAction(
        { ...instanceInputs(a), ...inputs },
        { env: attempt('7005', 1), killWhen: snapshotting },
      );
      assert.equal(sk.code, 128, 'killed while the service was stopped');
      const skPost = await runAction(
        { ...instanceInputs(a), ...inputs },
        { env: attempt('7005', 1), dir: sk.dir, post: true },
      );
      assert.match(
        skPost.stdout,
        /::warning::service eqmd: the interrupted rollback to \S+ had stopped it but overwritten nothing: started again as it was; healthy/,
      );
      assert.deepEqual(
        runningAppContainers(a).map((x) => x.slice(0, 12)),
        [appId!.slice(0, 12)],
        'the same container runs again',
      );
      assert.equal(await healthStatus(a), 200);
      assert.deepEqual(liveNames(a).sort(), rows);
      settled(a);

      // Mid-restore (PostgreSQL): once the pre-restore snapshot is complete, the restore starts.
      resetInstance('b');
      const pb = await run(b, { command: 'backup' });
      ok(pb);
      for (let k = 0; k < 3; k++) await addRecord(b, `live-${k}`);
      const pgBefore = liveNames(b).sort();
      const sets = setsOf(b).length;
      const pinputs = { command: 'rollback', 'backup-id': pb.outputs['backup-id']!, scope: 'database' };
      const pr = await cutWhen(b, pinputs, attempt('7003', 1), () => setsOf(b).length > sets);
      assert.ok(pr.cut > 0);
      settled(b);
      const pgNow = liveNames(b).sort();
      assert.ok(
        pgNow.length === 50 || JSON.stringify(pgNow) === JSON.stringify(pgBefore),
        'old or whole, never half',
      );
      ok(await run(b, pinputs, attempt('7003', 2)));
      assert.equal(await recordCount(b), 50);
      assert.equal(
        pgQuery(b, "SELECT count(*) FROM pg_database WHERE datname LIKE '%eqmd_restore'", 'postgres').trim(),
        '0',
        'no half-restored database left',
      );
      settled(b);

      // Runner killed mid-deploy, once the env file names the broken v3: the re-run fails on v3 too and
      // rolls back to where attempt 1 started; the state attempt 1 left is no emergency target after.
      resetInstance('a');
      const v3Written = () => /^EQMD_IMAGE=.*:v3$/m.test(readFileSync(join(a.projectDir, '.env'), 'utf8'));
      const dinputs = { ...instanceInputs(a), command: 'deploy', version: 'v3', 'health-timeout': '40' };
      const dk = await runAction(dinputs, { env: attempt('7004', 1), killWhen: v3Written });
      assert.equal(dk.code, 128, 'killed mid-deploy');
      await runAction(dinputs, { env: attempt('7004', 1), dir: dk.dir, post: true });
      settled(a);
      const dr = await runAction(dinputs, { env: attempt('7004', 2) });
      assert.equal(dr.code, 1, 'v3 fails again');
      assert.equal(dr.outputs['rolled-back'], 'true');
      assert.match(dr.stdout, /a failure rolls back to \S+, made by attempt 1/);
      assert.ok(setsOf(a).some((s) => s.manifest.reason === 'interrupted-deploy'));
      assert.equal(await servedVersion(a), 'v1');
      const em = await run(a, { command: 'rollback' });
      assert.equal(em.code, 1, em.stdout.slice(-2000));
      assert.match(em.stdout, /nothing to roll back to/);
      assert.equal(await servedVersion(a), 'v1', 'the emergency rollback did not bring v3 back');
      settled(a);
      return `cut mid-backup: step failed, post removed the temp set and released the lock; cut mid-restore (SQLite, PostgreSQL): live DB old-or-whole, post says the service stays stopped, re-run converged, one healthy container; runner killed while the rollback snapshotted: post started the same container, rows unchanged; runner killed mid-deploy: re-run rolled back to attempt 1's set, and no emergency rollback brings the half-switched state back`;
    },
  );

  fault(8, 'two runs at once, or a manual run on the host', async () => {
    resetInstance('b');
    const setsBefore = setsOf(b).length;
    const first = run(b, { command: 'deploy', version: 'v2' });
    await new Promise((r) => setTimeout(r, 1500));
    const impatient = await run(b, { command: 'backup', 'lock-timeout': '1' });
    assert.equal(impatient.code, 1);
    assert.match(impatient.stdout, /the host lock .* is held by deploy by e2e-tester .*Nothing was changed/);
    const patient = run(b, { command: 'backup', 'lock-timeout': '120' });
    const [d, p] = await Promise.all([first, patient]);
    ok(d);
    ok(p);
    assert.match(p.stdout, /waiting for the host lock/);
    assert.equal(setsOf(b).length, setsBefore + 2, 'only the deploy and the patient backup made sets');
    assert.equal(await servedVersion(b), 'v2');

    // An operator working by hand takes the lock with mkdir, as the README says.
    const lock = join(b.projectDir, '.eqmd-rollback.lock');
    sh(`mkdir -m 755 ${lock}`);
    const blocked = await run(b, { command: 'rollback', 'lock-timeout': '2' });
    assert.equal(blocked.code, 1);
    assert.match(
      blocked.stdout,
      /held by an owner that left no record \(taken by hand\?\).*Nothing was changed/,
    );
    assert.equal(await servedVersion(b), 'v2', 'no side effect');
    assert.equal(setsOf(b).length, setsBefore + 2);
    sh(`rmdir ${lock}`);

    // A holder that died: reported as stale with the step to clear it; broken only when asked.
    sh(
      `mkdir -p ${lock} && echo '{"command":"deploy","actor":"ghost"}' > ${lock}/owner.json && echo t > ${lock}/token && echo 999999 > ${lock}/pid && chmod -R a+rX ${lock}`,
    );
    const stale = await run(b, { command: 'backup' });
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /is stale: its holder process no longer exists/);
    assert.ok(existsSync(lock), 'never broken silently');
    ok(await run(b, { command: 'backup', 'break-stale-lock': 'true' }));
    assert.equal(lockHeld(b), false);
    return 'second run waited, or failed fast naming the holder with no side effect; hand-taken lock respected; stale lock reported, broken only on request';
  });

  fault(10, 'new version answers 500, or a migration raises', async () => {
    resetInstance('a');
    const rows = await recordCount(a);
    const d3 = await run(a, { command: 'deploy', version: 'v3' });
    assert.equal(d3.code, 1);
    assert.equal(d3.outputs['rolled-back'], 'true');
    assert.equal(d3.outputs.health, 'healthy');
    assert.equal(await servedVersion(a), 'v1');
    assert.equal(await recordCount(a), rows);
    const failed = setsOf(a).find((s) => s.manifest.reason === 'failed-deploy')?.manifest;
    assert.ok(failed, 'failed state snapshotted');
    // The snapshot describes the failed state itself, not the state the deploy started from.
    assert.deepEqual(
      [failed.image.reference, failed.image.envValue, failed.image.id],
      [`${h.image}:v3`, `${h.image}:v3`, sh(`docker image inspect -f '{{.Id}}' ${h.image}:v3`).trim()],
    );

    resetInstance('b');
    const tables = pgQuery(b, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    const d7 = await run(b, { command: 'deploy', version: 'v7' });
    assert.equal(d7.code, 1);
    assert.equal(d7.outputs['rolled-back'], 'true');
    assert.equal(d7.outputs.health, 'healthy');
    assert.equal(await servedVersion(b), 'v1');
    assert.equal(
      pgQuery(b, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
      tables,
      "the half-applied migration's table is gone: the database was restored",
    );
    assert.ok(setsOf(b).some((s) => s.manifest.reason === 'failed-deploy'));
    return 'v3 (500, drops a column) and v7 (migration raises half-way): step failed, failed state snapshotted, DB restored, previous image healthy';
  });
});
