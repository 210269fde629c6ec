import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf, repositoryOf, restoreEnvStep, setImageVariableStep } from '../../src/deploy/commands.js';
import {
  compareCounts,
  decideDatabaseRestore,
  restoredImage,
  rowsOnlyInSnapshot,
} from '../../src/deploy/decide.js';
import type { DatabaseRecord, Manifest } from '../../src/manifest.js';
import type { MigrationClass, MigrationReport } from '../../src/migrations/classify.js';
import { COUNT_ROWS_SQL, countableTables } from '../../src/restore/postgres.js';
import { judge, nextProbeDelay, type Observation } from '../../src/verify/judge.js';

const run = (command: string) => spawnSync('sh', ['-c', command]);

test('the env rewrite changes only the image variable line, byte for byte', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-'));
  const f = join(dir, '.env');
  const before =
    '# EquipeMed\r\nEQMD_IMAGE="ghcr.io/org/eqmd:v1"\r\nOTHER_EQMD_IMAGE=keep\r\n  EQMD_IMAGE = old \r\nSECRET=a=b\r\nLAST=no-newline';
  writeFileSync(f, before);
  chmodSync(f, 0o640);
  const r = run(setImageVariableStep(f, 'EQMD_IMAGE', 'ghcr.io/org/eqmd:v2').command);
  assert.equal(r.status, 0, r.stderr.toString());
  const expected =
    '# EquipeMed\r\nEQMD_IMAGE=ghcr.io/org/eqmd:v2\r\nOTHER_EQMD_IMAGE=keep\r\n  EQMD_IMAGE =ghcr.io/org/eqmd:v2\r\nSECRET=a=b\r\nLAST=no-newline';
  assert.equal(readFileSync(f, 'utf8'), expected);
  assert.equal(statSync(f).mode & 0o777, 0o640, 'the mode is kept');
  assert.equal(
    run(`ls -a ${dir} | grep -c eqmd-rollback-env || true`).stdout.toString().trim(),
    '0',
    'no temp file left',
  );
});

test('the env rewrite refuses a file without the variable and leaves it untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-'));
  const f = join(dir, '.env');
  writeFileSync(f, 'OTHER=1\n');
  const r = run(setImageVariableStep(f, 'EQMD_IMAGE', 'r/eqmd:v2').command);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /EQMD_IMAGE is not set/);
  assert.equal(readFileSync(f, 'utf8'), 'OTHER=1\n');
});

test('restoring the env file copies it back and keeps the live file mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-'));
  writeFileSync(join(dir, 'saved'), 'EQMD_IMAGE=r/eqmd:v1\n');
  writeFileSync(join(dir, '.env'), 'EQMD_IMAGE=r/eqmd:v3\n');
  chmodSync(join(dir, '.env'), 0o644);
  assert.equal(run(restoreEnvStep(join(dir, 'saved'), join(dir, '.env')).command).status, 0);
  assert.equal(readFileSync(join(dir, '.env'), 'utf8'), 'EQMD_IMAGE=r/eqmd:v1\n');
  assert.equal(statSync(join(dir, '.env')).mode & 0o777, 0o644);
});

test('image reference parts', () => {
  assert.equal(repositoryOf('127.0.0.1:5000/eqmd:v1'), '127.0.0.1:5000/eqmd');
  assert.equal(repositoryOf('ghcr.io/org/eqmd@sha256:abc'), 'ghcr.io/org/eqmd');
  assert.equal(repositoryOf('localhost:5000/eqmd'), 'localhost:5000/eqmd');
  assert.equal(registryOf('127.0.0.1:5000/eqmd'), '127.0.0.1:5000');
  assert.equal(registryOf('ghcr.io/org/eqmd'), 'ghcr.io');
  assert.equal(registryOf('org/eqmd'), 'docker.io');
});

const running: NonNullable<Observation['container']> = {
  running: true,
  restarting: false,
  status: 'running',
  exitCode: 0,
  restartCount: 0,
  health: '',
};
const obs = (
  at: number,
  http: number | null,
  container: Partial<typeof running> | null = {},
): Observation => ({
  at,
  container: container === null ? null : { ...running, ...container },
  http:
    http === null
      ? null
      : { status: http, body: http >= 500 ? 'Server Error' : 'ok', error: http === 0 ? 'refused' : '' },
});

test('judge: healthy on a 2xx from a running container', () => {
  const v = judge([obs(0, 0), obs(2000, 200)], 60_000);
  assert.ok(v.done && v.healthy);
});

test('judge: fail fast on exit, restart loop, unhealthy, or 3 server errors in a row — not on one', () => {
  const fast = (h: Observation[]) => {
    const v = judge(h, 60_000);
    return v.done && !v.healthy && v.failFast ? v.reason : 'not fast';
  };
  assert.match(
    fast([obs(0, null, { running: false, status: 'exited', exitCode: 1 })]),
    /exited \(exit code 1\)/,
  );
  assert.match(
    fast([obs(0, 0), obs(500, null, { running: false, restarting: true, restartCount: 1 })]),
    /restart-looping/,
  );
  assert.match(fast([obs(0, 0), obs(500, 0, { restartCount: 2 })]), /restart-looping/);
  assert.match(fast([obs(0, 200, { health: 'unhealthy' })]), /unhealthy/);
  assert.match(fast([obs(0, 500), obs(1000, 502), obs(2000, 500)]), /3 server errors in a row/);
  assert.deepEqual(
    judge([obs(0, 500), obs(1000, 0)], 60_000),
    { done: false },
    'one 500 then a refused connection: keep waiting',
  );
  assert.deepEqual(judge([obs(0, 500), obs(1000, 500), obs(2000, 200)], 60_000).done, true);
  assert.match(fast([obs(0, null, null)]), /no container/);
});

test('probes come on the interval, and quickly while nothing answers or after a server error (three in a row still decide)', () => {
  assert.equal(nextProbeDelay([], 2000, 0), 2000);
  assert.equal(nextProbeDelay([obs(0, 0)], 2000, 300), 100, 'soon while the app does not answer yet');
  assert.equal(nextProbeDelay([obs(0, 0)], 100, 300), 100, 'never slower than the interval');
  assert.equal(nextProbeDelay([obs(0, 200)], 2000, 4100), 1900);
  assert.equal(nextProbeDelay([obs(0, 503)], 2000, 300), 250, 'soon after a 5xx');
  assert.equal(nextProbeDelay([obs(0, 500)], 100, 300), 100, 'never slower than the interval');
  assert.equal(nextProbeDelay([obs(0, 500), obs(250, 404)], 2000, 500), 1500, 'back on the grid after a 4xx');
  // Two 5xx are not yet a verdict, whatever the pace.
  assert.deepEqual(judge([obs(0, 500), obs(250, 500)], 60_000), { done: false });
});

test('judge: the deadline ends the wait, naming the last answer', () => {
  const v = judge([obs(0, 0), obs(61_000, 404)], 60_000);
  assert.ok(v.done && !v.healthy && !v.failFast && /within 60 s \(last: HTTP 404/.test(v.reason));
});

const db = (schema: string): DatabaseRecord => ({
  kind: 'sqlite',
  via: 'app-container',
  source: '/x',
  file: 'database.sqlite3',
  integrity: 'ok',
  schemaFingerprint: schema,
  tables: {},
});

test('database restore decision: auto follows the schema; never without a snapshot', () => {
  const snap = (schema: string) => ({ ok: true as const, database: db(schema), id: 'x' });
  assert.equal(decideDatabaseRestore('auto', db('a'), snap('a')).action, 'keep');
  assert.equal(decideDatabaseRestore('auto', db('a'), snap('b')).action, 'restore');
  assert.equal(decideDatabaseRestore('always', db('a'), snap('a')).action, 'restore');
  assert.equal(decideDatabaseRestore('never', db('a'), snap('b')).action, 'keep');
  const noSnap = decideDatabaseRestore('always', db('a'), { ok: false, why: 'disk full' });
  assert.equal(noSnap.action, 'keep');
  assert.match(noSnap.why, /could not be snapshotted \(disk full\)/);
  assert.equal(decideDatabaseRestore('always', { kind: 'none' }, snap('a')).action, 'keep');
});

test('database restore decision: auto keeps a compatible release’s schema and migrates back one the old code cannot write with', () => {
  const at = (schema: string, applied: number, key = 'django_migrations') => ({
    ...db(schema),
    tables: { [key]: applied, records_patient: 50 },
  });
  const snap = (schema: string, applied: number, key?: string) => ({
    ok: true as const,
    database: at(schema, applied, key),
    id: 'x',
  });
  const report = (cls: MigrationClass, n = 1): MigrationReport => ({
    class: cls,
    applied: { records: ['0001_initial'] },
    pending: Array.from({ length: n }, (_, i) => ({
      app: 'records',
      name: `000${i + 2}_step`,
      class: cls,
      operations: [{ op: 'AddField', class: cls }],
    })),
  });
  // Only the release's own compatible migrations: kept, the previous version runs on the schema.
  const kept = decideDatabaseRestore('auto', at('a', 1), snap('b', 2), report('compatible'), true);
  assert.equal(kept.action, 'keep');
  assert.match(
    kept.why,
    /only by the release's own compatible migrations \(records\.0002_step .*database is kept/,
  );
  // Those that break the old writes: migrated back, so the schema is the set's again, every record kept.
  const back = decideDatabaseRestore('auto', at('a', 1), snap('b', 2), report('breaks-old-writes'), true);
  assert.equal(back.action, 'migrate-back');
  assert.match(
    back.why,
    /only by the release's own reversible migrations \(records\.0002_step .*every record kept/,
  );
  // PostgreSQL names the table with its schema.
  const pg = at('a', 1, 'public.django_migrations');
  assert.equal(
    decideDatabaseRestore(
      'auto',
      pg,
      snap('b', 2, 'public.django_migrations'),
      report('breaks-old-writes'),
      true,
    ).action,
    'migrate-back',
  );
  assert.equal(
    decideDatabaseRestore('auto', at('a', 1), snap('b', 3), report('breaks-old-writes'), true).action,
    'restore',
    'not with a later release on top',
  );
  const destructive = decideDatabaseRestore('auto', at('a', 1), snap('b', 2), report('destructive'), true);
  assert.equal(destructive.action, 'restore', 'never for destructive ones');
  assert.match(
    destructive.why,
    /; records\.0002_step \(destructive: AddField\) cannot be undone without losing values$/,
  );
  // A rename is destructive for the old code, yet Django's reverse renames back: every value kept.
  const renamed: MigrationReport = {
    ...report('destructive'),
    pending: [
      { ...report('destructive').pending[0]!, operations: [{ op: 'RenameField', class: 'destructive' }] },
    ],
  };
  assert.equal(decideDatabaseRestore('auto', at('a', 1), snap('b', 2), renamed, true).action, 'migrate-back');
  const restores: [string, Parameters<typeof decideDatabaseRestore>][] = [
    ['no record of the migrations', ['auto', at('a', 1), snap('b', 2), undefined, true]],
    [
      'a class the old code cannot write with, no migrate-back step',
      ['auto', at('a', 1), snap('b', 2), report('breaks-old-writes'), false],
    ],
    ['destructive', ['auto', at('a', 1), snap('b', 2), report('destructive')]],
    ['nothing was pending, yet the schema moved', ['auto', at('a', 1), snap('b', 1), report('none', 0)]],
    [
      'more migrations than the release’s (a later release on top)',
      ['auto', at('a', 1), snap('b', 3), report('compatible')],
    ],
    ['fewer (half applied)', ['auto', at('a', 1), snap('b', 2), report('compatible', 2)]],
    [
      'no django_migrations count',
      ['auto', db('a'), { ok: true, database: db('b'), id: 'x' }, report('compatible')],
    ],
    ['always', ['always', at('a', 1), snap('b', 2), report('compatible')]],
  ];
  for (const [why, args] of restores) assert.equal(decideDatabaseRestore(...args).action, 'restore', why);
  // Kept needs no migrate-back step.
  assert.equal(
    decideDatabaseRestore('auto', at('a', 1), snap('b', 2), report('compatible'), false).action,
    'keep',
  );
});

test('row-count comparison and the count query quote identifiers and skip odd names', () => {
  assert.deepEqual(compareCounts({ 'public.a': 2, 'public.b': 0 }, ['public.a|2', 'public.b|0']), []);
  assert.deepEqual(compareCounts({ 'public.a': 2, 'public.c': 1 }, ['public.a|1']), [
    'public.a: 1 rows, expected 2',
    'public.c: missing rows, expected 1',
  ]);
  // Only plain schema.table names are counted; PostgreSQL quotes them (%I) from a psql variable.
  assert.equal(
    countableTables(['public.records_patient', 'x.y"; DROP TABLE z; --', 'public.t,u', 'nodot']),
    'public.records_patient',
  );
  assert.match(COUNT_ROWS_SQL, /format\('SELECT count\(\*\) AS c FROM %I\.%I'/);
  assert.match(COUNT_ROWS_SQL, /string_to_array\(:'tables', ','\)/);
});

const image = (reference: string, envValue: string): Manifest['image'] => ({
  reference,
  envValue,
  id: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  repoDigests: [],
  backupTag: 'eqmd-rollback/p:20260101T000000Z-abcdef',
  variable: 'EQMD_IMAGE',
});

test('a restored set runs under the reference its container was created from, never retagging another', () => {
  assert.deepEqual(restoredImage(image('reg/eqmd:v1', 'reg/eqmd:v1')), {
    reference: 'reg/eqmd:v1',
    rewriteEnv: false,
    why: '',
  });
  // The env file said v3 (a deploy cut off before compose recreated the container) while v1 ran:
  // retagging v3 as this image would turn the host's v3 tag into v1.
  const split = restoredImage(image('reg/eqmd:v1', 'reg/eqmd:v3'));
  assert.equal(split.reference, 'reg/eqmd:v1');
  assert.equal(split.rewriteEnv, true);
  assert.match(split.why, /EQMD_IMAGE=reg\/eqmd:v3 .* ran reg\/eqmd:v1/);
  // A container created from an image id has no tag: the backup tag names the image.
  const byId = restoredImage(image('sha256:' + 'ab'.repeat(32), 'sha256:' + 'ab'.repeat(32)));
  assert.equal(byId.reference, 'eqmd-rollback/p:20260101T000000Z-abcdef');
  assert.equal(byId.rewriteEnv, true);
  assert.equal(restoredImage(image('reg/eqmd:v1', '')).rewriteEnv, false, 'no variable to rewrite');
});

test('rows only in the snapshot after a migrate-back: tables the release added, with rows', () => {
  const rec = (tables: Record<string, number>) => ({ ...db('a'), tables });
  const table: [string, Record<string, number>, Record<string, number>, { table: string; rows: number }[]][] =
    [
      ['nothing added', { t: 1 }, { t: 5 }, []],
      [
        'an added table with rows',
        { t: 1 },
        { t: 5, 'public.audit': 3 },
        [{ table: 'public.audit', rows: 3 }],
      ],
      ['an added table left empty', { t: 1 }, { t: 5, audit: 0 }, []],
      ['a table the release dropped', { t: 1, gone: 4 }, { t: 5 }, []],
      [
        'two, in name order',
        { t: 1 },
        { z: 1, b: 2 },
        [
          { table: 'b', rows: 2 },
          { table: 'z', rows: 1 },
        ],
      ],
    ];
  for (const [why, before, after, want] of table)
    assert.deepEqual(rowsOnlyInSnapshot(rec(before), rec(after)), want, why);
  assert.deepEqual(rowsOnlyInSnapshot({ kind: 'none' }, rec({ t: 1 })), []);
});
