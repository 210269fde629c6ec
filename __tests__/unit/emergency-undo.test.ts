import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emergencyChoice, taggedReference, undoableRollback } from '../../src/emergency-target.js';
import type { Manifest } from '../../src/manifest.js';
import { rollback } from '../../src/operations/rollback.js';
import { chooseSetsToPrune } from '../../src/retention.js';
import { appContainer, silentLog } from './fake-host.js';
import { settingsFor, sqliteHost } from './host-fixture.js';
import { validManifest } from './manifest-fixture.js';

/**
 * "Undo the last change" after an operator's rollback: the emergency rollback returns to the version
 * that rollback replaced. Every rule of undoableRollback has a row that breaks only it.
 */

const V1 = `sha256:${'1'.repeat(64)}`;
const V2 = `sha256:${'2'.repeat(64)}`;

/** A set of image `id` named `ref`, made by run `runId` started by `event`. */
function made(
  created: string,
  suffix: string,
  x: Partial<Pick<Manifest, 'reason' | 'rollbackMode' | 'verified'>> & {
    id?: string;
    ref?: string;
    runId?: string;
    event?: string;
  },
): Manifest {
  const m = validManifest({ created, suffix, reason: x.reason ?? 'manual', imageId: x.id ?? V2 });
  const ref = x.ref ?? 'registry.local/eqmd:v2';
  return {
    ...m,
    ...(x.rollbackMode ? { rollbackMode: x.rollbackMode } : {}),
    verified: x.verified ?? true,
    image: { ...m.image, reference: ref, envValue: ref },
    run: { ...m.run, runId: x.runId ?? '200', event: x.event ?? 'workflow_dispatch' },
  };
}

// The story: run 100 (push) deployed v2 over v1; run 200 (an operator) rolled back to v1 by version.
const deployV2 = made('2026-11-24T09:00:00Z', 'aaaaaa', {
  reason: 'pre-deploy',
  id: V1,
  ref: 'registry.local/eqmd:v1',
  runId: '100',
  event: 'push',
});
const operatorRollback = (x: Parameters<typeof made>[2] = {}) =>
  made('2026-11-24T10:00:00Z', 'bbbbbb', { reason: 'pre-restore', rollbackMode: 'version', ...x });

test('undo: an operator’s named rollback is undone by deploying the version it replaced', () => {
  for (const mode of ['version', 'backup-set'] as const)
    for (const event of ['workflow_dispatch', 'repository_dispatch']) {
      const snap = operatorRollback({ rollbackMode: mode, event });
      assert.deepEqual(undoableRollback([snap, deployV2], V1), {
        target: snap,
        reference: 'registry.local/eqmd:v2',
      });
    }
  // Manual backups made since are no change: the rollback is still the last one.
  const manual = made('2026-11-24T11:00:00Z', 'cccccc', { id: V1, ref: 'registry.local/eqmd:v1' });
  assert.equal(
    undoableRollback([manual, operatorRollback(), deployV2], V1)?.reference,
    'registry.local/eqmd:v2',
  );
});

test('undo: refused for each rule, and the emergency rollback goes back to a set instead', () => {
  const later = made('2026-11-24T11:00:00Z', 'dddddd', { reason: 'pre-deploy', id: V1, runId: '300' });
  const rows: [string, Manifest[], string][] = [
    [
      'an emergency rollback is never undone',
      [operatorRollback({ rollbackMode: 'emergency' }), deployV2],
      V1,
    ],
    [
      'a snapshot without a recorded mode (older sets)',
      [operatorRollback({ rollbackMode: undefined }), deployV2],
      V1,
    ],
    ['started by a push', [operatorRollback({ event: 'push' }), deployV2], V1],
    [
      'started by workflow_run (a smoke-test workflow)',
      [operatorRollback({ event: 'workflow_run' }), deployV2],
      V1,
    ],
    ['no event recorded', [operatorRollback({ event: '' }), deployV2], V1],
    [
      'a deploy ran earlier in the same run (the smoke-test rollback of that release)',
      [operatorRollback(), { ...deployV2, run: { ...deployV2.run, runId: '200' } }],
      V1,
    ],
    ['a newer change since', [later, operatorRollback(), deployV2], V1],
    [
      'the newest set is a failed release',
      [made('2026-11-24T11:00:00Z', 'eeeeee', { reason: 'failed-deploy' }), operatorRollback(), deployV2],
      V1,
    ],
    ['the replaced version runs already', [operatorRollback(), deployV2], V2],
    ['no running image known', [operatorRollback(), deployV2], ''],
    [
      'pinned by digest: no tag to deploy',
      [operatorRollback({ ref: `registry.local/eqmd@sha256:${'b'.repeat(64)}` }), deployV2],
      V1,
    ],
    ['no run id recorded', [operatorRollback({ runId: '' }), deployV2], V1],
  ];
  for (const [why, sets, running] of rows) {
    assert.equal(undoableRollback(sets, running), null, why);
    assert.notEqual(emergencyChoice(sets, running)?.kind, 'undo', why);
  }
  // An unverified snapshot is no change at all: the last change is the deploy, undone from its set.
  const unverified = [operatorRollback({ verified: false }), deployV2];
  assert.equal(undoableRollback(unverified, V2), null);
  assert.deepEqual(emergencyChoice(unverified, V2), { kind: 'set', target: deployV2 });
});

test('tagged references: what a deploy can name again', () => {
  assert.deepEqual(taggedReference('127.0.0.1:5000/eqmd:v2'), {
    repository: '127.0.0.1:5000/eqmd',
    tag: 'v2',
  });
  assert.deepEqual(taggedReference('eqmd:1.2.0'), { repository: 'eqmd', tag: '1.2.0' });
  for (const r of [
    '127.0.0.1:5000/eqmd',
    'eqmd',
    `eqmd@sha256:${'b'.repeat(64)}`,
    `eqmd:v1@sha256:${'b'.repeat(64)}`,
  ])
    assert.equal(taggedReference(r), null, r);
});

test('retention keeps the snapshot an emergency rollback would undo to, past its day', () => {
  const snap = operatorRollback();
  const newer = [3, 4, 5].map((h) =>
    made(`2026-11-24T1${h}:00:00Z`, `f${h}f${h}f${h}`, { id: V1, ref: 'registry.local/eqmd:v1' }),
  );
  const sets = [...newer.reverse(), snap, deployV2];
  const ctx = { justMade: newer[0]!.id, now: new Date('2026-11-27T00:00:00Z'), runningImageId: V1 };
  const pruned = chooseSetsToPrune(sets, 1, ctx).map((m) => m.id);
  assert.ok(!pruned.includes(snap.id), pruned.join(' '));
  // Without the operator's event it is an ordinary day-old snapshot, and goes.
  const automated = operatorRollback({ event: 'push' });
  const pruned2 = chooseSetsToPrune([...newer, automated, deployV2], 1, ctx).map((m) => m.id);
  assert.ok(pruned2.includes(automated.id), pruned2.join(' '));
});

test('the dry run of an emergency rollback after an operator’s rollback is the deploy of the replaced version', async () => {
  const host = sqliteHost([operatorRollback(), deployV2]);
  const container = { ...appContainer, imageId: V1 };
  host.docker.inspectContainer = async () => container;
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [container] : []);
  host.docker.volumeExists = async () => true;
  const out = await rollback(host, settingsFor('rollback', { 'dry-run': 'true' }), silentLog(), {
    newId: () => '20261124T120000Z-5a5a5a',
    now: () => new Date('2026-11-24T12:00:00Z'),
    toolVersion: '0.1.0',
  });
  assert.ok(out.dryRun);
  assert.match(
    out.plan,
    /^undo the rollback that replaced registry\.local\/eqmd:v2 \(its snapshot 20261124T100000Z-bbbbbb\): deploy it again\n/,
  );
  assert.match(out.plan, /docker pull -q registry\.local\/eqmd:v2/);
  // A deploy's own plan: its safety backup is an ordinary pre-deploy set, so a next emergency rollback
  // undoes this one in turn.
  assert.match(out.plan, /Back up the running version \(reason pre-deploy\)/);
  assert.doesNotMatch(out.plan.split('\n')[0]!, /backup set/, 'no set is restored as the rollback itself');
  for (const c of host.commands)
    assert.doesNotMatch(c.command, /docker pull|mkdir|docker tag/, c.command.slice(0, 80));
});
