import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  addRecord,
  pgQuery,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import {
  cutWhen,
  healthStatus,
  helperContainers,
  instanceInputs,
  liveNames,
  lockHeld,
  runningAppContainers,
  setProblems,
  tempSetsOf,
  volumePath,
} from './inject.js';

const h = testHost();
const { a, b } = h.instances;
const ok = (r: ActionRun) => assert.equal(r.code, 0, r.stdout.slice(-3000));
const attempt = (runId: string, n: number) => ({ GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(n) });
/** A one-off container of the project runs: compose run, here the migrate-back. */
const migratingBack = () =>
  sh(
    `docker ps -q --filter label=com.docker.compose.project=${a.composeProject} --filter label=com.docker.compose.oneoff=True`,
  ).trim() !== '';

describe('faults in the plan-made rollback', () => {
  fault(20, 'kill during a reverse migration (the migrate-back of a rollback), then the re-run', async () => {
    resetInstance('a');
    ok(await runAction({ ...instanceInputs(a), command: 'deploy', version: 'v8' }));
    await addRecord(a, 'v8-written-1');
    await addRecord(a, 'v8-written-2');
    const rows = liveNames(a).sort();
    const inputs = { ...instanceInputs(a), command: 'rollback' };
    const killed = await runAction(inputs, { env: attempt('7190', 1), killWhen: migratingBack });
    assert.equal(killed.code, 128, 'killed while the migrate-back ran');
    const post = await runAction(inputs, { env: attempt('7190', 1), dir: killed.dir, post: true });
    assert.equal(post.code, 0, post.stdout.slice(-2000));
    // The re-run finishes the same rollback, whatever the migrate-back had done: undone whole (the
    // schema is the set's: kept), or not, or half (restored, and the rows carried over).
    const rerun = await runAction(inputs, { env: attempt('7190', 2) });
    ok(rerun);
    assert.equal(await servedVersion(a), 'v1');
    assert.equal(await healthStatus(a), 200);
    assert.deepEqual(liveNames(a).sort(), rows, 'every record, those written through v8 included');
    // The killed run had put the env file back (v1) before migrating back: what ran was still v8.
    assert.match(rerun.summary, /Before: `\S+:v8`; now: `\S+:v1`/);
    // v8's NOT NULL column gone (or the set restored): v1 inserts again.
    await addRecord(a, 'v1-written-after');
    assert.ok(liveNames(a).includes('v1-written-after'), 'v1 writes');
    assert.equal(runningAppContainers(a).length, 1);
    assert.deepEqual(tempSetsOf(a), []);
    assert.equal(lockHeld(a), false);
    assert.deepEqual(setProblems(a), []);
    assert.deepEqual(helperContainers(), []);
    const chose = /^database: (keep|migrate-back|restore):/m.exec(rerun.stdout)?.[1] ?? 'no decision logged';
    return `killed mid-migrate-back; post left the service stopped (overwriting had begun); re-run converged on v1 (its database plan: ${chose}), every row live, v1 writes`;
  });

  fault(
    20,
    'kill during a carry-over (a rollback restoring past a destructive release), then the re-run',
    async () => {
      const rows = await v9WithManyWrites();
      const inputs = { ...instanceInputs(a), command: 'rollback' };
      const killed = await runAction(inputs, { env: attempt('7191', 1), killWhen: carrying });
      assert.equal(killed.code, 128, 'killed while the restore carried the writes over');
      // Not swapped yet: the live file is still v9's (no ward column), every row in it.
      const swapped = /\bward\b/.test(sqlite(liveFile(), 'PRAGMA table_info(records_patient)'));
      const post = await runAction(inputs, { env: attempt('7191', 1), dir: killed.dir, post: true });
      assert.equal(post.code, 0, post.stdout.slice(-2000));
      const rerun = await runAction(inputs, { env: attempt('7191', 2) });
      return `killed mid-carry-over (${swapped ? 'after' : 'before'} the swap); ${await convergedOnV2(rerun, rows)}`;
    },
  );

  fault(20, 'the SSH connection cut (sshd killed) during a carry-over, then the re-run', async () => {
    const rows = await v9WithManyWrites();
    // The host side may outlive the connection (a container the cut did not stop): the re-run must
    // still converge, with nothing carried twice.
    const { main, post, cut } = await cutWhen(a, { command: 'rollback' }, attempt('7193', 1), carrying);
    assert.ok(cut > 0, 'the connection was cut while the restore carried the writes over');
    assert.notEqual(main.code, 0, 'the cut run fails');
    assert.equal(post.code, 0, post.stdout.slice(-2000));
    const rerun = await runAction({ ...instanceInputs(a), command: 'rollback' }, { env: attempt('7193', 2) });
    return `connection cut mid-carry-over (${cut} sshd processes killed), post ran; ${await convergedOnV2(rerun, rows)}`;
  });

  /** v2, then v9 (drops a column) written to many times: a carry-over long enough to interrupt. */
  async function v9WithManyWrites(): Promise<string[]> {
    resetInstance('a');
    ok(await runAction({ ...instanceInputs(a), command: 'deploy', version: 'v2' }));
    ok(await runAction({ ...instanceInputs(a), command: 'deploy', version: 'v9' }));
    await addRecord(a, 'v9-written');
    sqlite(
      liveFile(),
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO records_patient (name, notes, created) SELECT 'bulk-' || i, '', '2026-12-01 10:00:00' FROM n",
    );
    // A -wal the CLI created would be root's: the app's user must still open it.
    const live = liveFile();
    sh(`chown --reference=${live} ${live}-wal ${live}-shm 2>/dev/null || true`);
    return liveNames(a).sort();
  }

  /** The re-run ended on v2 with every row live once, v2 writes, nothing left behind; how, for the report. */
  async function convergedOnV2(rerun: ActionRun, rows: string[]): Promise<string> {
    ok(rerun);
    assert.equal(await servedVersion(a), 'v2');
    assert.equal(await healthStatus(a), 200);
    const after = liveNames(a).sort();
    assert.equal(after.length, rows.length, 'nothing applied twice, nothing lost');
    assert.deepEqual(after, rows, 'every record, the 20,001 written through v9 included');
    assert.match(sqlite(liveFile(), 'PRAGMA table_info(records_patient)'), /\bward\b/, "v2's schema");
    await addRecord(a, 'v2-written-after');
    assert.ok(liveNames(a).includes('v2-written-after'), 'v2 writes');
    assert.equal(runningAppContainers(a).length, 1);
    assert.deepEqual(tempSetsOf(a), []);
    assert.equal(lockHeld(a), false);
    assert.deepEqual(setProblems(a), []);
    assert.deepEqual(helperContainers(), []);
    const carried = /carried over: records_patient (\d+) inserted/.exec(rerun.summary)?.[1];
    return `re-run converged on v2 (${carried ? `${carried} rows carried` : 'the database kept: already restored and carried'}), all ${rows.length} rows live once, v2 writes`;
  }

  fault(
    20,
    'kill, or the SSH connection cut, during a PostgreSQL carry-over (compose v1), then the re-run',
    async () => {
      resetInstance('b');
      ok(await runAction({ ...instanceInputs(b), command: 'deploy', version: 'v2' }));
      const seen: string[] = [];
      // The runner killed, then (v9 deployed again) the connection cut: each lands while the carry-over
      // works in the restored database, and each re-run converges.
      for (const [mode, runId] of [
        ['killed', '7192'],
        ['connection cut', '7194'],
      ] as const) {
        ok(await runAction({ ...instanceInputs(b), command: 'deploy', version: 'v9' }));
        await addRecord(b, `v9-written-${runId}`);
        pgQuery(
          b,
          `INSERT INTO records_patient (name, notes, created) SELECT 'bulk-${runId}-' || i, '', now() FROM generate_series(1, 20000) i`,
        );
        const rows = liveNames(b).sort();
        const inputs = { ...instanceInputs(b), command: 'rollback' };
        let post: ActionRun;
        let how: string;
        if (mode === 'killed') {
          const killed = await runAction(inputs, { env: attempt(runId, 1), killWhen: pgCarrying });
          assert.equal(killed.code, 128, 'killed while the carry-over ran in the restored database');
          const swapped =
            pgQuery(
              b,
              "SELECT count(*) FROM information_schema.columns WHERE column_name = 'ward'",
            ).trim() !== '0';
          how = `killed mid-carry-over (${swapped ? 'after' : 'before'} the swap)`;
          post = await runAction(inputs, { env: attempt(runId, 1), dir: killed.dir, post: true });
        } else {
          const r = await cutWhen(b, { command: 'rollback' }, attempt(runId, 1), pgCarrying);
          assert.ok(r.cut > 0, 'the connection was cut while the carry-over ran in the restored database');
          assert.notEqual(r.main.code, 0, 'the cut run fails');
          how = `connection cut mid-carry-over (${r.cut} sshd processes killed)`;
          post = r.post;
        }
        assert.equal(post.code, 0, post.stdout.slice(-2000));
        const rerun = await runAction(inputs, { env: attempt(runId, 2) });
        ok(rerun);
        assert.equal(await servedVersion(b), 'v2');
        assert.equal(await healthStatus(b), 200);
        const after = liveNames(b).sort();
        assert.equal(after.length, rows.length, `${mode}: nothing applied twice, nothing lost`);
        assert.deepEqual(after, rows, `${mode}: every record, the 20,001 written through v9 included`);
        await addRecord(b, `v2-written-after-${runId}`);
        assert.ok(
          liveNames(b).includes(`v2-written-after-${runId}`),
          'v2 writes: the sequence is past the carried ids',
        );
        assert.equal(runningAppContainers(b).length, 1);
        assert.deepEqual(tempSetsOf(b), []);
        assert.equal(lockHeld(b), false);
        assert.deepEqual(setProblems(b), []);
        assert.deepEqual(helperContainers(), []);
        const carried = /carried over: public\.records_patient (\d+) inserted/.exec(rerun.summary)?.[1];
        seen.push(
          `${how}; re-run converged on v2 (${carried ? `${carried} rows carried` : 'the database kept'}), all ${rows.length} rows live once, v2 writes`,
        );
      }
      return seen.join('; ');
    },
  );

  /** The carry-over's stream or its transaction is at work in the restored database. */
  function pgCarrying(): boolean {
    try {
      return (
        pgQuery(
          b,
          "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE '%_eqmd_restore' AND state <> 'idle' AND query LIKE '%eqmd_carry%'",
          'postgres',
        ).trim() !== '0'
      );
    } catch {
      return false;
    }
  }
});

/** The restore's helper has the replaced database's copy: the carry-over is under way. */
function carrying(): boolean {
  const helper = sh('docker ps -q --filter name=eqmd-rollback-helper-').trim().split('\n')[0];
  if (!helper) return false;
  try {
    execFileSync('docker', ['exec', helper, 'test', '-s', '/tmp/eqmd-replaced.sqlite3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const liveFile = () => join(volumePath(`${a.composeProject}_database`), 'db.sqlite3');

function sqlite(file: string, sql: string): string {
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', file, sql], { encoding: 'utf8' });
}
