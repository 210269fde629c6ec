import assert from 'node:assert/strict';
import type { MigrationClass } from '../../src/migrations/classify.js';
import { test } from 'node:test';
import type { ComposeTarget } from '../../src/compose.js';
import { restoreEnvStep, retagStep, setImageVariableStep, upStep } from '../../src/deploy/commands.js';
import type { Manifest } from '../../src/manifest.js';
import { verifySetStep } from '../../src/restore/checksums.js';
import { failedParts, partsAccount, putBackData, type PartOutcome } from '../../src/restore/outcome.js';
import { planRestore, type RestoreParts } from '../../src/restore/plan.js';
import { formatRestorePlan } from '../../src/restore/plan-text.js';
import { volumeRestoreStep } from '../../src/restore/volume.js';
import { migrateBackStep, migrationFactsStep } from '../../src/migrations/step.js';
import { validManifest } from './manifest-fixture.js';

const app = { projectDir: '/srv/eqmd-a', envFile: '.env', imageVariable: 'EQMD_IMAGE', service: 'eqmd' };
const compose: ComposeTarget = {
  flavor: 'v2',
  projectDir: '/srv/eqmd-a',
  composeFile: 'docker-compose.yml',
  project: 'eqmd-a',
  envFile: '.env',
};
const m = validManifest({ created: '2026-11-20T08:00:00.000Z', suffix: 'cccccc' });
const dir = `/srv/eqmd-a/backups/${m.id}`;
const APP: RestoreParts = { app: true, database: 'per-setting', volumes: [] };
const plan = (parts: RestoreParts, over: Partial<Manifest> = {}, restoreDatabase = 'auto' as const) =>
  planRestore({
    app,
    restoreDatabase,
    compose,
    target: { manifest: { ...m, ...over }, dir },
    parts,
    snapshotId: '20261124T120000Z-dddddd',
    snapshotReason: 'pre-restore',
    currentImage: 'registry.local/eqmd:v3',
    fromImage: 'registry.local/eqmd:v3',
    carryOver: 'auto',
  });

test('restore plan, scope app: the exact steps in order, the database left to the auto rule', () => {
  const p = plan({ app: true, database: 'per-setting', volumes: [] });
  const files = m.files.filter((f) => f.path === 'env' || f.path === 'database.sqlite3');
  assert.deepEqual(p.check, verifySetStep(dir, files));
  assert.deepEqual(p.env, restoreEnvStep(`${dir}/env`, '/srv/eqmd-a/.env'));
  assert.equal(p.pointEnv, null);
  assert.deepEqual(p.database, { mode: 'auto' });
  assert.deepEqual(p.volumes, []);
  assert.deepEqual(p.retag, retagStep(m.image.backupTag, 'registry.local/eqmd:v1'));
  assert.deepEqual(p.up, upStep(compose, 'eqmd'));
  assert.equal(p.image, 'registry.local/eqmd:v1');
});

test('restore plan, scope full: volumes restored with the snapshot id, the database always', () => {
  const p = plan({ app: true, database: 'always', volumes: ['eqmd-a_media_files'] }, {}, 'auto');
  assert.deepEqual(p.database, { mode: 'always' });
  const v = m.volumes[0]!;
  assert.deepEqual(p.volumes, [
    {
      name: v.name,
      entries: v.entries,
      step: volumeRestoreStep({
        id: '20261124T120000Z-dddddd',
        projectDir: '/srv/eqmd-a',
        volume: v.name,
        archive: `${dir}/${v.file}`,
        image: m.image.backupTag,
        entries: v.entries,
      }),
    },
  ]);
});

test('restore plan, scope volumes: no app part, the env file keeps naming what runs', () => {
  const p = plan({ app: false, database: 'no', volumes: ['eqmd-a_media_files', 'not-in-the-set'] });
  assert.equal(p.env, null);
  assert.equal(p.retag, null);
  assert.equal(p.database, null);
  assert.deepEqual(
    p.volumes.map((v) => v.name),
    ['eqmd-a_media_files'],
  );
  assert.equal(p.image, 'registry.local/eqmd:v3');
  assert.deepEqual(
    p.check,
    verifySetStep(
      dir,
      m.files.filter((f) => f.role === 'volume'),
    ),
  );
});

test('restore plan: a saved env file naming another image is made to name what ran', () => {
  const p = plan(
    { app: true, database: 'per-setting', volumes: [] },
    { image: { ...m.image, envValue: 'registry.local/eqmd:v9' } },
  );
  assert.deepEqual(
    p.pointEnv?.step,
    setImageVariableStep('/srv/eqmd-a/.env', 'EQMD_IMAGE', 'registry.local/eqmd:v1'),
  );
  assert.match(
    p.pointEnv!.why,
    /EQMD_IMAGE=registry.local\/eqmd:v9 but the service ran registry.local\/eqmd:v1/,
  );
});

test('the dry run prints the plan it would execute: every step, in order, and the database rule', () => {
  const p = plan({ app: true, database: 'per-setting', volumes: ['eqmd-a_media_files'] });
  const text = formatRestorePlan(p, {
    service: 'eqmd',
    stopping: 'Docker API, container 0123456789ab',
    snapshotSteps: '<snapshot steps>',
    verify: 'verify http://localhost:8778/health/',
  });
  const order = [p.check, p.env!, p.volumes[0]!.step, p.retag!, p.up].map((s) =>
    text.indexOf(s.command.split('\n')[0]!),
  );
  assert.ok(
    order.every((i) => i >= 0),
    'every command is printed',
  );
  assert.deepEqual(
    order,
    [...order].sort((x, y) => x - y),
    'in the order they run',
  );
  assert.match(text, /snapshot what will be overwritten as set 20261124T120000Z-dddddd:\n<snapshot steps>/);
  assert.match(text, /only if the live schema fingerprint no longer matches/);
  assert.match(text, /then verify http:\/\/localhost:8778\/health\/\.$/);
});

const outcomes: [PartOutcome, string, 'restored' | 'note'][] = [
  [
    { part: 'env-file', status: 'restored', file: '.env', from: m.id },
    `env file .env from ${m.id}`,
    'restored',
  ],
  [
    { part: 'image', status: 'restored', reference: 'r/eqmd:v1', imageId: `sha256:${'1'.repeat(64)}` },
    'image r/eqmd:v1 (111111111111) from its backup tag',
    'restored',
  ],
  [
    { part: 'version', status: 'restored', reference: 'r/eqmd:v1' },
    'image r/eqmd:v1 (pulled), env file updated',
    'restored',
  ],
  [
    { part: 'database', status: 'restored', account: 'restored, 2 tables verified' },
    'restored, 2 tables verified',
    'restored',
  ],
  [
    { part: 'volume', status: 'restored', name: 'media', from: m.id, entries: 3 },
    `volume media from ${m.id} (3 entries)`,
    'restored',
  ],
  [
    { part: 'database', status: 'skipped', name: 'sqlite', why: 'the schema is unchanged' },
    'database not restored: the schema is unchanged',
    'note',
  ],
  [
    { part: 'database', status: 'failed', name: 'postgres', why: 'permission denied' },
    'database NOT restored: permission denied',
    'note',
  ],
  [
    { part: 'volume', status: 'failed', name: 'media', why: 'no snapshot' },
    'volume media NOT restored: no snapshot',
    'note',
  ],
];

test('each part outcome has its sentence, in restored or in the notes after the others', () => {
  for (const [p, sentence, where] of outcomes) {
    const account = partsAccount([p], ['an earlier note']);
    assert.deepEqual(account.restored, where === 'restored' ? [sentence] : [], sentence);
    assert.deepEqual(account.notes, where === 'note' ? ['an earlier note', sentence] : ['an earlier note']);
  }
});

test('whether data was put back and whether a rollback is incomplete are read from the values, not the words', () => {
  const data = outcomes.filter(([, , w]) => w === 'restored').map(([p]) => p);
  assert.equal(putBackData(data.filter((p) => p.part !== 'database' && p.part !== 'volume')), false);
  // An account in any words still counts: nothing matches on the sentence.
  assert.equal(putBackData([{ part: 'database', status: 'restored', account: 'done' }]), true);
  assert.equal(putBackData([{ part: 'volume', status: 'restored', name: 'v', from: 'x', entries: 0 }]), true);
  assert.equal(putBackData([{ part: 'database', status: 'failed', name: 'sqlite', why: 'x' }]), false);
  assert.deepEqual(
    failedParts(outcomes.map(([p]) => p)).map((p) => p.status),
    ['failed', 'failed'],
  );
});

const breaking: Manifest['migrations'] = {
  class: 'breaks-old-writes',
  applied: { records: ['0001_initial'] },
  pending: [
    {
      app: 'records',
      name: '0002_patient_priority',
      class: 'breaks-old-writes',
      operations: [{ op: 'AddField', class: 'breaks-old-writes' }],
    },
  ],
};

test('restore plan: a set whose next release Django undoes without losing a record (renames too) carries the migrate-back step', () => {
  const as = (cls: MigrationClass, op: string): Manifest['migrations'] => ({
    ...breaking,
    class: cls,
    pending: [{ ...breaking.pending[0]!, class: cls, operations: [{ op, class: cls }] }],
  });
  for (const [cls, op] of [
    ['breaks-old-writes', 'AddField'],
    ['destructive', 'RenameField'],
  ] as const) {
    const p = plan({ app: true, database: 'per-setting', volumes: [] }, { migrations: as(cls, op) });
    assert.deepEqual(p.migrateBack?.targets, ['records:0001_initial'], op);
  }
  const p = plan({ app: true, database: 'per-setting', volumes: [] }, { migrations: breaking });
  assert.deepEqual(p.migrateBack?.targets, ['records:0001_initial']);
  assert.deepEqual(p.migrateBack?.expected, { records: ['0001_initial'] });
  assert.deepEqual(
    p.migrateBack?.step,
    migrateBackStep(compose, 'EQMD_IMAGE', 'registry.local/eqmd:v3', 'eqmd', ['records:0001_initial']),
  );
  assert.deepEqual(
    p.migrateBack?.check,
    migrationFactsStep(compose, 'EQMD_IMAGE', 'registry.local/eqmd:v3', 'eqmd'),
  );
  // An app with nothing applied goes back to zero.
  const fresh = plan(
    { app: true, database: 'per-setting', volumes: [] },
    { migrations: { ...breaking, applied: {} } },
  );
  assert.deepEqual(fresh.migrateBack?.targets, ['records:zero']);
  const none: [string, Partial<Manifest>, RestoreParts][] = [
    ['compatible: kept, nothing to undo', { migrations: as('compatible', 'AddField') }, APP],
    ['destructive: restored', { migrations: as('destructive', 'RemoveField') }, APP],
    ['irreversible: restored', { migrations: as('irreversible', 'RunPython') }, APP],
    ['a record that contradicts itself', { migrations: { ...breaking, class: 'compatible' } }, APP],
    ['no record', {}, APP],
    ['two applied leaves', { migrations: { ...breaking, applied: { records: ['0001_a', '0001_b'] } } }, APP],
    ['database not in scope', { migrations: breaking }, { app: false, database: 'no', volumes: [] }],
  ];
  for (const [why, over, parts] of none) assert.equal(plan(parts, over).migrateBack, null, why);
});
