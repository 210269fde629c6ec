import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ComposeTarget } from '../../src/compose.js';
import type { SnapshotResult } from '../../src/deploy/decide.js';
import type { Manifest } from '../../src/manifest.js';
import { rollBackDatabase } from '../../src/operations/rollback-database.js';
import { planRestore } from '../../src/restore/plan.js';
import { FakeHost, silentLog } from './fake-host.js';
import { settingsFor } from './host-fixture.js';
import { validManifest } from './manifest-fixture.js';

const compose: ComposeTarget = {
  flavor: 'v2',
  projectDir: '/srv/eqmd-a',
  composeFile: 'docker-compose.yml',
  project: 'eqmd-a',
  envFile: '.env',
};
const base = validManifest({ created: '2026-11-20T08:00:00.000Z', suffix: 'cccccc' });
const set = (cls: 'breaks-old-writes' | 'compatible'): Manifest => ({
  ...base,
  database:
    base.database.kind === 'none'
      ? base.database
      : { ...base.database, tables: { django_migrations: 1, records_patient: 50 } },
  migrations: {
    class: cls,
    applied: { records: ['0001_initial'] },
    pending: [
      {
        app: 'records',
        name: '0002_patient_priority',
        class: cls,
        operations: [{ op: 'AddField', class: cls }],
      },
    ],
  },
});
const planFor = (m: Manifest, carryOver: 'auto' | 'never' = 'auto') => {
  const p = planRestore({
    app: { projectDir: '/srv/eqmd-a', envFile: '.env', imageVariable: 'EQMD_IMAGE', service: 'eqmd' },
    restoreDatabase: 'auto',
    compose,
    target: { manifest: m, dir: `/srv/eqmd-a/backups/${m.id}` },
    parts: { app: true, database: 'per-setting', volumes: [] },
    snapshotId: '20261124T120000Z-dddddd',
    snapshotReason: 'failed-deploy',
    currentImage: 'registry.local/eqmd:v1',
    fromImage: 'registry.local/eqmd:v8',
    carryOver,
  });
  return { ...p, database: p.database! };
};
// The snapshot: the schema moved, and django_migrations has exactly the release's one row more.
const moved: SnapshotResult = {
  ok: true,
  id: '20261124T120000Z-dddddd',
  database: {
    kind: 'sqlite',
    via: 'app-container',
    source: '/app/database/db.sqlite3',
    file: 'database.sqlite3',
    integrity: 'ok',
    schemaFingerprint: 'b'.repeat(64),
    tables: { django_migrations: 2, records_patient: 55 },
  },
};
const facts = (applied: Record<string, string[]>, unknown: { app: string; name: string }[] = []) =>
  `eqmd-migrations=${JSON.stringify({ vendor: 'sqlite', applied, plan: [], back: [], unknown })}\n`;

test('migrate back: the release’s own image undoes its migrations, Django confirms the set’s state, no restore', async () => {
  const host = new FakeHost();
  host.on(/manage\.py shell -c/, (cmd) => ({
    stdout: /EQMD_MIGRATE_BACK_TO/.test(cmd)
      ? 'eqmd-migrated-back=ok\n'
      : // A kept release's migration the image lacks is not the release's: the check still passes.
        facts({ records: ['0001_initial'] }, [{ app: 'audit', name: '0004_kept_release' }]),
  }));
  const r = await rollBackDatabase(
    host,
    settingsFor('rollback'),
    silentLog(),
    planFor(set('breaks-old-writes')),
    moved,
    null,
    'c0ffee',
  );
  assert.deepEqual(r.parts, [
    { part: 'schema', status: 'restored', to: ['records:0001_initial'], by: 'registry.local/eqmd:v8' },
  ]);
  assert.match(r.notes[0]!, /^database kept: .*they are migrated back with its image, every record kept/);
  const ran = host.commands.map((c) => c.command);
  assert.ok(
    ran[0]!.includes('EQMD_MIGRATE_BACK_TO=records:0001_initial') &&
      ran[0]!.includes('export EQMD_IMAGE=registry.local/eqmd:v8'),
  );
  assert.equal(ran.length, 2, 'the migrate-back and its check, nothing else');
  assert.equal(r.notes.length, 1, 'no table of the release held rows');
  // A table the release added held rows: they are said to be only in the snapshot.
  const withTable: SnapshotResult = moved.ok
    ? {
        ...moved,
        database: {
          ...moved.database,
          tables: { django_migrations: 2, records_patient: 55, records_auditentry: 7, records_empty: 0 },
        } as typeof moved.database,
      }
    : moved;
  const again = await rollBackDatabase(
    host,
    settingsFor('rollback'),
    silentLog(),
    planFor(set('breaks-old-writes')),
    withTable,
    null,
    'c0ffee',
  );
  assert.equal(
    again.notes[1],
    'rows the previous version has no table for (tables the release added) are only in the snapshot 20261124T120000Z-dddddd: records_auditentry 7',
  );
});

test('migrate back that fails, or leaves another state: the set’s database is restored instead', async () => {
  for (const [reply, why] of [
    [
      { code: 1, stderr: 'Traceback: app detail' },
      /'Migrate records:0001_initial back with \S+' exited with code 1/,
    ],
    [
      { stdout: facts({ records: ['0002_patient_priority'] }) },
      /Django reports records at 0002_patient_priority/,
    ],
    // An image without the release's files: it reports the set's state, the release's row still there.
    [
      { stdout: facts({ records: ['0001_initial'] }, [{ app: 'records', name: '0002_patient_priority' }]) },
      /Django still records records\.0002_patient_priority as applied/,
    ],
  ] as const) {
    const host = new FakeHost();
    host.on(/manage\.py shell -c/, (cmd) =>
      /EQMD_MIGRATE_BACK_TO/.test(cmd) && 'code' in reply
        ? reply
        : 'stdout' in reply
          ? reply
          : { stdout: 'eqmd-migrated-back=ok\n' },
    );
    const log = silentLog();
    const r = await rollBackDatabase(
      host,
      settingsFor('rollback'),
      log,
      planFor(set('breaks-old-writes')),
      moved,
      null,
      'c0ffee',
    );
    assert.match(r.notes[0]!, /migrating back failed \(.*\): the database is restored from .* instead/);
    assert.match(r.notes[0]!, why);
    assert.ok(!r.notes[0]!.includes('app detail'), 'the image’s output is not repeated');
    assert.equal(r.parts[0]!.part, 'database', 'the restore ran (restored or failed, not skipped)');
    assert.notEqual(r.parts[0]!.status, 'skipped');
  }
});

test('the schema unchanged: the database is kept and nothing runs', async () => {
  const host = new FakeHost();
  const unchanged: SnapshotResult = {
    ok: true,
    id: '20261124T120000Z-dddddd',
    database: { ...base.database, tables: { django_migrations: 2 } } as Manifest['database'],
  };
  const r = await rollBackDatabase(
    host,
    settingsFor('rollback'),
    silentLog(),
    planFor(set('compatible')),
    unchanged,
    null,
    'c0ffee',
  );
  assert.equal(r.parts[0]!.status, 'skipped');
  assert.match((r.parts[0] as { why: string }).why, /the schema is unchanged/);
  assert.equal(host.commands.length, 0);
});

/** A set whose next release dropped a column: restored, then the writes since carried over. */
const destructive: Manifest = {
  ...set('compatible'),
  migrations: {
    class: 'destructive',
    applied: { records: ['0001_initial'] },
    pending: [
      {
        app: 'records',
        name: '0002_remove_ward',
        class: 'destructive',
        operations: [{ op: 'RemoveField', class: 'destructive' }],
      },
    ],
  },
};
const snapshotSet = {
  dir: '/srv/eqmd-a/backups/20261124T120000Z-dddddd',
  manifest: validManifest({ created: '2026-11-24T12:00:00.000Z', suffix: 'dddddd' }),
};
const REPORT = JSON.stringify({
  tables: { records_patient: { inserted: 3, updated: 1, deleted: 1, listed: 1 } },
  listed: [
    { table: 'records_patient', key: 9, reason: 'inserted since; the previous version needs a value' },
  ],
});

test('a restore carries the writes since into the verified copy before it is swapped in, and counts them', async () => {
  for (const [reply, want] of [
    [`carry_over=${REPORT}\naside=/app/database/.eqmd-aside-x.sqlite3\n`, 'restored'],
    ['carry_failed=carrying over would break 1 foreign key reference(s)\naside=/a\n', 'failed'],
    ['carry_over={"tables":{}}\naside=/a\n', 'failed'],
  ] as const) {
    const host = new FakeHost();
    host.on(/Restore the SQLite|eqmd-rollback-helper-/, { stdout: reply });
    const r = await rollBackDatabase(
      host,
      settingsFor('rollback'),
      silentLog(),
      planFor(destructive),
      moved,
      snapshotSet,
      'c0ffee',
    );
    assert.equal(r.parts[0]!.part, 'database');
    assert.equal(r.parts[0]!.status, 'restored', 'a failed carry-over leaves the database restored');
    const carried = r.parts[1]!;
    assert.equal(carried.part, 'carry-over');
    assert.equal(carried.status, want, reply);
    if (carried.status === 'restored' && carried.part === 'carry-over') {
      assert.deepEqual(carried.tables, {
        records_patient: { inserted: 3, updated: 1, deleted: 1, listed: 1 },
      });
      assert.equal(carried.listed, 1);
      assert.equal(carried.report, `${snapshotSet.dir}/carry-over.json`);
    } else assert.match((carried as { why: string }).why, /foreign key|malformed/);
    const restore = host.commands.map((c) => c.command).find((c) => c.includes('eqmd-rollback-helper-'))!;
    const [carry, swap] = [restore.indexOf('carry_over='), restore.indexOf('ln -f "$db" "$aside.sqlite3"')];
    assert.ok(carry > 0 && swap > carry, 'carried over before the swap, in the same script');
    assert.ok(
      restore.includes(
        `${snapshotSet.dir}/${snapshotSet.manifest.files.find((f) => f.role === 'database')!.path}`,
      ),
    );
  }
});

test('the restore works in the helper the snapshot left, and it is removed once: by the restore, or before the start when no restore came', async () => {
  const helper = 'eqmd-rollback-helper-20261124T120000Z-dddddd';
  const removals = (h: FakeHost) =>
    h.commands.filter((c) => /docker rm -f "\$1"/.test(c.command) && c.command.includes(helper)).length;
  // Restored: the restore's script uses the running helper (starting one only if it is gone) and its
  // trap removes it; nothing else removes it.
  const restoring = new FakeHost();
  restoring.on(/Restore the SQLite|eqmd-rollback-helper-/, { stdout: 'aside=/a\n' });
  await rollBackDatabase(
    restoring,
    settingsFor('rollback'),
    silentLog(),
    planFor(destructive, 'never'),
    moved,
    snapshotSet,
    'c0ffee',
    true,
  );
  const restore = restoring.commands.find((c) => c.command.includes('sqlite3'))!.command;
  assert.match(restore, new RegExp(`docker inspect -f \\S*State\\.Running\\S* ${helper}`));
  assert.ok(restore.includes(`trap '\\''docker rm -f ${helper} >/dev/null`), 'its trap removes it');
  assert.equal(removals(restoring), 0);
  // Kept (the schema did not move): no restore came, so the helper is removed here.
  const keeping = new FakeHost();
  const same: SnapshotResult = {
    ...moved,
    database: {
      ...moved.database,
      schemaFingerprint: (base.database as { schemaFingerprint: string }).schemaFingerprint,
    },
  } as SnapshotResult;
  const r = await rollBackDatabase(
    keeping,
    settingsFor('rollback'),
    silentLog(),
    planFor(destructive),
    same,
    snapshotSet,
    'c0ffee',
    true,
  );
  assert.equal(r.parts[0]!.status, 'skipped');
  assert.equal(removals(keeping), 1);
});

test('carry-over never: the restore runs without it and nothing is said of it', async () => {
  const host = new FakeHost();
  host.on(/eqmd-rollback-helper-/, { stdout: 'aside=/a\n' });
  const settings = settingsFor('rollback');
  const r = await rollBackDatabase(
    host,
    { ...settings, deploy: { ...settings.deploy, carryOver: 'never' } },
    silentLog(),
    // As rollback.ts and deploy/plan.ts plan it: from the same input.
    planFor(destructive, 'never'),
    moved,
    snapshotSet,
    'c0ffee',
  );
  assert.deepEqual(
    r.parts.map((p) => p.part),
    ['database'],
  );
  assert.ok(!host.commands.some((c) => c.command.includes('carry_over=')));
});

test('PostgreSQL: the writes since are carried into the restored database before the swap; a failed carry-over still swaps', async () => {
  const pg: Manifest = {
    ...destructive,
    files: destructive.files.map((f) => (f.role === 'database' ? { ...f, path: 'database.dump' } : f)),
    database: {
      kind: 'postgres',
      via: 'postgres-service',
      source: 'postgres',
      file: 'database.dump',
      integrity: 'ok',
      schemaFingerprint: 'a'.repeat(64),
      tables: { 'public.records_patient': 50 },
    },
  };
  const movedPg: SnapshotResult = {
    ok: true,
    id: moved.id,
    database: { ...pg.database, schemaFingerprint: 'b'.repeat(64) } as Manifest['database'],
  };
  for (const [reply, want] of [
    [`carry_over=${REPORT.replace('"records_patient"', '"public.records_patient"')}\n`, 'restored'],
    ['carry_failed=the export stream is incomplete: nothing carried\n', 'failed'],
  ] as const) {
    const host = new FakeHost({
      serviceContainers: async () => [{ id: 'pg1', running: true } as never],
    });
    host.on(/_eqmd_restore/, { stdout: 'count=public.records_patient|50\n' });
    host.on(/Carry the writes|eqmd_carry\.stream/, { stdout: reply });
    host.on(/ALTER DATABASE/, { stdout: 'aside=postgres_eqmd_aside_x\n' });
    const r = await rollBackDatabase(
      host,
      settingsFor('rollback'),
      silentLog(),
      planFor(pg),
      movedPg,
      snapshotSet,
      'c0ffee',
    );
    assert.equal(r.parts[0]!.status, 'restored', JSON.stringify(r.parts));
    assert.equal(r.parts[1]!.part, 'carry-over');
    assert.equal(r.parts[1]!.status, want);
    const ran = host.commands.map((c) => c.command);
    const [carry, swap] = [
      ran.findIndex((c) => c.includes('eqmd_carry.stream')),
      ran.findIndex((c) => c.includes('ALTER DATABASE')),
    ];
    assert.ok(carry > 0 && swap > carry, 'carried over into the restored database, then swapped');
  }
});
