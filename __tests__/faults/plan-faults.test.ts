import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  addRecord,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import {
  healthStatus,
  helperContainers,
  instanceInputs,
  liveNames,
  lockHeld,
  runningAppContainers,
  setProblems,
  tempSetsOf,
} from './inject.js';

const h = testHost();
const { a } = h.instances;
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
});
