import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireStep, releaseStep } from '../../src/lock/commands.js';
import { describeOwner, judgeHeldLock } from '../../src/lock/judge.js';
import type { Manifest } from '../../src/manifest.js';
import { emergencyTarget } from '../../src/emergency-target.js';
import { partsFor } from '../../src/restore/scope.js';
import { deployRollbackPoint, setsOfEarlierAttempts, unfinishedRestoreTarget } from '../../src/rerun.js';
import type { RunInfo } from '../../src/settings.js';

const sh = (command: string) => spawnSync('sh', ['-c', command]).stdout.toString();

test('lock: mkdir is the arbiter; the second taker sees the holder; only the token releases', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lock-')), '.eqmd-rollback.lock');
  assert.match(sh(acquireStep(dir, 'tok-1', '{"actor":"a"}').command), /state=acquired/);
  const second = sh(acquireStep(dir, 'tok-2', '{"actor":"b"}').command);
  assert.match(second, /state=held/);
  assert.match(second, /owner=\{"actor":"a"\}/);
  assert.match(second, /keeper=none/);
  assert.match(sh(releaseStep(dir, 'tok-2').command), /state=not-ours/);
  assert.ok(existsSync(dir), "another run's token never releases the lock");
  assert.equal(readFileSync(join(dir, 'token'), 'utf8').trim(), 'tok-1');
  assert.match(sh(releaseStep(dir, 'tok-1').command), /state=released/);
  assert.ok(!existsSync(dir));
});

test('lock: stale only when the keeper is gone, or keeper-less and older than the command timeout', () => {
  assert.deepEqual(judgeHeldLock({ owner: '', ageSeconds: 5, keeper: 'alive' }, 600), { kind: 'wait' });
  assert.deepEqual(
    judgeHeldLock({ owner: '', ageSeconds: 5000, keeper: 'alive' }, 600),
    { kind: 'wait' },
    'a live holder is never stale',
  );
  assert.equal(judgeHeldLock({ owner: '', ageSeconds: 5, keeper: 'gone' }, 600).kind, 'stale');
  assert.equal(judgeHeldLock({ owner: '', ageSeconds: 5, keeper: 'none' }, 600).kind, 'wait');
  assert.equal(judgeHeldLock({ owner: '', ageSeconds: 601, keeper: 'none' }, 600).kind, 'stale');
  assert.match(
    describeOwner(
      '{"command":"deploy","actor":"ana","repository":"org/x","runId":"9","started":"2026-12-01T10:00:00Z"}',
    ),
    /deploy by ana \(org\/x, run 9\) since 2026-12-01T10:00:00Z/,
  );
  assert.match(describeOwner(''), /taken by hand/);
});

const set = (id: string, imageId: string, reason: string, verified = true) =>
  ({
    id,
    reason,
    verified,
    image: { id: imageId },
    volumes: [
      { name: 'p_static_files', mountpoint: '/app/staticfiles' },
      { name: 'p_media', mountpoint: '/app/media' },
    ],
  }) as unknown as Manifest;

test('emergency target: newest verified set with another image, never a failed release', () => {
  const sets = [
    set('5', 'sha:v3', 'failed-deploy'),
    set('4', 'sha:v1', 'pre-deploy', false),
    set('3', 'sha:v2', 'manual'),
    set('2', 'sha:v1', 'pre-deploy'),
  ];
  assert.equal(emergencyTarget(sets, 'sha:v1')?.id, '3');
  assert.equal(emergencyTarget(sets, 'sha:v2')?.id, '2');
  assert.equal(emergencyTarget([set('1', 'sha:v1', 'manual')], 'sha:v1'), null);
  // After an emergency rollback v2 → v1, the snapshot of v2 it took is not the next target.
  const after = [set('6', 'sha:v2', 'pre-restore'), ...sets];
  assert.equal(emergencyTarget(after, 'sha:v1')?.id, '3');
  assert.equal(emergencyTarget(sets, ''), null, 'no running image known: no guess');
});

test('emergency target: never the half-switched state an interrupted deploy left', () => {
  // Attempt 1 backed up v1 and switched to v3 before it was killed; the re-run snapshotted that (v3),
  // failed on v3 and rolled back to attempt 1's set. v1 runs: undoing "the last change" is not v3.
  const sets = [
    set('4', 'sha:v3', 'failed-deploy'),
    set('3', 'sha:v3', 'interrupted-deploy'),
    set('2', 'sha:v1', 'pre-deploy'),
    set('1', 'sha:v0', 'pre-deploy'),
  ];
  assert.equal(emergencyTarget(sets, 'sha:v1')?.id, '1');
  assert.equal(emergencyTarget(sets.slice(0, 3), 'sha:v1'), null);
});

const ran = (id: string, reason: string, runId: string, attempt: string, restoreTarget?: string) =>
  ({
    id,
    reason,
    verified: true,
    image: { id: 'x' },
    run: { runId, runAttempt: attempt, repository: 'org/app' },
    ...(restoreTarget ? { restoreTarget } : {}),
  }) as unknown as Manifest;
const runInfo = (runId: string, runAttempt: string) =>
  ({ runId, runAttempt, repository: 'org/app' }) as unknown as RunInfo;

test('a re-run finds the journal of its earlier attempts only while nothing else happened since', () => {
  const sets = [
    ran('4', 'failed-deploy', '77', '2'),
    ran('3', 'pre-deploy', '77', '2'),
    ran('2', 'pre-deploy', '77', '1'),
    ran('1', 'pre-deploy', '60', '1'),
  ];
  assert.deepEqual(
    setsOfEarlierAttempts(sets, runInfo('77', '3')).map((m) => m.id),
    ['4', '3', '2'],
  );
  assert.equal(deployRollbackPoint(sets, runInfo('77', '3'))?.id, '2', 'where the run started');
  assert.equal(deployRollbackPoint(sets, runInfo('77', '1')), null, 'a first attempt has no journal');
  assert.equal(deployRollbackPoint(sets, runInfo('78', '2')), null, 'another run');
  assert.equal(deployRollbackPoint([ran('5', 'manual', '90', '1'), ...sets], runInfo('77', '3')), null);
  assert.equal(deployRollbackPoint(sets, runInfo('', '3')), null, 'no run id: no journal');
});

test('an emergency rollback re-run finishes the restore its first attempt started', () => {
  const sets = [
    ran('9', 'pre-restore', '5', '2', '3'),
    ran('8', 'pre-restore', '5', '1', '2'),
    ran('2', 'pre-deploy', '4', '1'),
  ];
  assert.equal(unfinishedRestoreTarget(sets, runInfo('5', '3')), '2');
  assert.equal(unfinishedRestoreTarget(sets, runInfo('6', '2')), null);
});

test('scope → parts', () => {
  const m = set('1', 'x', 'manual');
  assert.deepEqual(partsFor('app', m, '/app/staticfiles'), {
    app: true,
    database: 'per-setting',
    volumes: [],
  });
  assert.deepEqual(partsFor('database', m, '/app/staticfiles'), {
    app: false,
    database: 'always',
    volumes: [],
  });
  assert.deepEqual(partsFor('static', m, '/app/staticfiles/'), {
    app: false,
    database: 'no',
    volumes: ['p_static_files'],
  });
  assert.deepEqual(partsFor('volumes', m, '/x'), {
    app: false,
    database: 'no',
    volumes: ['p_static_files', 'p_media'],
  });
  assert.deepEqual(partsFor('full', m, '/x'), {
    app: true,
    database: 'always',
    volumes: ['p_static_files', 'p_media'],
  });
  assert.throws(() => partsFor('static', m, '/srv/static'), /no volume mounted at static-path \/srv\/static/);
});
