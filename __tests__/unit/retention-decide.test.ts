import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoVolumes, decideDatabase, volumeCandidates, volumeHolding } from '../../src/backup/decide.js';
import type { ContainerInfo, MountInfo } from '../../src/docker-api.js';
import type { Manifest } from '../../src/manifest.js';
import { chooseSetsToPrune } from '../../src/retention.js';
import type { BackupSettings } from '../../src/settings.js';

const m = (id: string, created: string, verified = true) => ({ id, created, verified }) as Manifest;

test('retention keeps the newest N verified sets and never the unverified or the new one', () => {
  const sets = [
    m('a', '2026-01-01'),
    m('b', '2026-01-02'),
    m('c', '2026-01-03', false),
    m('d', '2026-01-04'),
    m('e', '2026-01-05'),
  ];
  assert.deepEqual(
    chooseSetsToPrune(sets, 2, 'e').map((s) => s.id),
    ['b', 'a'],
  );
  assert.deepEqual(chooseSetsToPrune(sets, 0, 'e'), [], 'keep 0 keeps everything');
  assert.deepEqual(chooseSetsToPrune(sets, 10, 'e'), []);
  assert.deepEqual(
    chooseSetsToPrune([m('x', '2026-01-09'), m('new', '2026-01-01')], 1, 'new').map((s) => s.id),
    [],
  );
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
