import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoVolumes, decideDatabase, volumeCandidates, volumeHolding } from '../../src/backup/decide.js';
import type { ContainerInfo, MountInfo } from '../../src/docker-api.js';
import type { Manifest } from '../../src/manifest.js';
import { chooseSetsToPrune } from '../../src/retention.js';
import type { BackupSettings } from '../../src/settings.js';

const m = (id: string, created: string, verified = true, reason = 'manual', image = 'sha:v1') =>
  ({ id, created, verified, reason, image: { id: image } }) as unknown as Manifest;
const ctx = (justMade: string, runningImageId = 'sha:v1') => ({
  justMade,
  now: new Date('2026-01-10T00:00:00Z'),
  runningImageId,
});
const ids = (xs: Manifest[]) => xs.map((x) => x.id);

test('retention keeps the newest N verified sets and never the unverified or the new one', () => {
  const sets = [
    m('a', '2026-01-01'),
    m('b', '2026-01-02'),
    m('c', '2026-01-03', false),
    m('d', '2026-01-04'),
    m('e', '2026-01-05'),
  ];
  assert.deepEqual(ids(chooseSetsToPrune(sets, 2, ctx('e'))), ['b', 'a']);
  assert.deepEqual(chooseSetsToPrune(sets, 0, ctx('e')), [], 'keep 0 keeps everything');
  assert.deepEqual(chooseSetsToPrune(sets, 10, ctx('e')), []);
  assert.deepEqual(ids(chooseSetsToPrune([m('x', '2026-01-09'), m('new', '2026-01-01')], 1, ctx('new'))), []);
});

test('retention protects the rollback point of the running version, the emergency target and young snapshots', () => {
  const sets = [
    m('n5', '2026-01-09T12:00:00Z', true, 'manual'),
    m('n4', '2026-01-09T11:00:00Z', true, 'pre-restore', 'sha:v2'),
    m('n3', '2026-01-08T00:00:00Z', true, 'pre-restore', 'sha:v2'),
    m('n2', '2026-01-07T00:00:00Z', true, 'pre-deploy', 'sha:v0'),
    m('n1', '2026-01-06T00:00:00Z', true, 'manual', 'sha:v0'),
  ];
  // keep 1: n4 (snapshot < 1 day) stays, n4 is also the emergency target (other image);
  // n3 (2 days old) goes; n2 is the newest pre-deploy set: it stays; n1 goes.
  assert.deepEqual(ids(chooseSetsToPrune(sets, 1, ctx('n5'))), ['n3', 'n1']);
  assert.deepEqual(
    ids(chooseSetsToPrune(sets, 1, ctx('n5', 'sha:v2'))),
    ['n4', 'n3', 'n1'].filter((x) => x !== 'n4'),
    'young snapshots stay whatever runs',
  );
});

test('retention keeps a young interrupted-deploy snapshot, and does not take it for the emergency target', () => {
  const sets = [
    m('i3', '2026-01-09T12:00:00Z', true, 'interrupted-deploy', 'sha:v3'),
    m('i2', '2026-01-09T11:00:00Z', true, 'pre-deploy', 'sha:v1'),
    m('i1', '2026-01-01T00:00:00Z', true, 'manual', 'sha:v0'),
    m('i0', '2025-12-01T00:00:00Z', true, 'manual', 'sha:v0'),
  ];
  // keep 1: i3 stays (snapshot < 1 day), i2 (newest pre-deploy) stays, i1 is the emergency target
  // (v0), not i3; i0 goes.
  assert.deepEqual(ids(chooseSetsToPrune(sets, 1, ctx('new'))), ['i0']);
});

const mounts: MountInfo[] = [
  { type: 'volume', name: 'p_database', source: '', destination: '/app/database' },
  { type: 'volume', name: 'p_media', source: '', destination: '/app/media' },
  { type: 'bind', name: '', source: '/etc/localtime', destination: '/etc/localtime' },
  { type: 'volume', name: 'p_static', source: '', destination: '/app/staticfiles/' },
];

test('auto volumes: named volumes only, without the one holding the SQLite file', () => {
  assert.deepEqual(
    autoVolumes(mounts, '/app/database/db.sqlite3').map((v) => v.name),
    ['p_media', 'p_static'],
  );
  assert.deepEqual(
    autoVolumes(mounts, null).map((v) => v.name),
    ['p_database', 'p_media', 'p_static'],
  );
  assert.equal(volumeHolding(mounts, '/app/databasex/db')?.name, undefined);
  assert.equal(volumeHolding(mounts, '/app/staticfiles/x.js')?.name, 'p_static');
  assert.deepEqual(volumeCandidates('p', 'media'), ['p_media', 'media']);
  assert.deepEqual(volumeCandidates('p', 'p_media'), ['p_media']);
});

const settings = (over: Partial<BackupSettings>): BackupSettings => ({
  dir: 'backups',
  database: 'auto',
  sqlitePath: '/app/database/db.sqlite3',
  postgresService: 'postgres',
  databaseUrl: null,
  volumes: 'auto',
  keep: 10,
  ...over,
});
const container = (id: string, running = true) => ({ id, name: id, running }) as ContainerInfo;
const url = { host: 'db', port: 5432, user: 'u', database: 'd', password: 'p', sslmode: '' };

test('database decision table', () => {
  const kind = (d: ReturnType<typeof decideDatabase>) =>
    d.ok ? `${d.target.kind}${'via' in d.target ? `/${d.target.via}` : ''}` : `refused`;
  assert.equal(kind(decideDatabase(settings({}), container('app'), null, true)), 'sqlite');
  assert.equal(
    kind(decideDatabase(settings({}), container('app'), container('pg'), true)),
    'postgres/postgres-service',
  );
  assert.equal(
    kind(decideDatabase(settings({ databaseUrl: url }), container('app'), null, false)),
    'postgres/database-url',
  );
  assert.equal(
    kind(decideDatabase(settings({}), container('app'), null, false)),
    'refused',
    'auto never settles for no database',
  );
  assert.equal(
    kind(decideDatabase(settings({}), container('app'), container('pg', false), false)),
    'refused',
  );
  assert.equal(kind(decideDatabase(settings({ database: 'none' }), null, null, false)), 'none');
  const stopped = decideDatabase(settings({ database: 'sqlite' }), container('app', false), null, true);
  assert.ok(
    stopped.ok && stopped.target.kind === 'sqlite' && !stopped.target.running,
    'a stopped app is read through a helper',
  );
  assert.equal(
    kind(decideDatabase(settings({ database: 'sqlite' }), null, null, true)),
    'refused',
    'no container at all',
  );
  assert.equal(
    kind(decideDatabase(settings({ database: 'postgres' }), container('app'), null, true)),
    'refused',
  );
  const refused = decideDatabase(settings({}), container('app'), null, false);
  assert.ok(!refused.ok && refused.why.includes('database: none'));
});
