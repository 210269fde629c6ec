import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import {
  addRecord,
  connectionInputs,
  recordCount,
  envFileOf,
  pgQuery,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
  type RunOptions,
} from './harness.js';
import { resetUnlessServing } from '../faults/inject.js';

const h = testHost();
const { a, b } = h.instances;
const conn = (i: Instance) => ({
  ...connectionInputs(h, i === b ? 'v1' : 'v2'),
  'project-dir': i.projectDir,
  'health-url': i.healthUrl.replace('127.0.0.1', 'localhost'),
  'upload-artifact': 'false',
});
const run = (i: Instance, inputs: Record<string, string>, opts: RunOptions = {}) =>
  runAction({ ...conn(i), ...inputs }, opts);
const version = servedVersion;
const env = envFileOf;
const manifestOf = (r: ActionRun) => JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;
const setDir = (i: Instance, id: string) => join(i.projectDir, 'backups', id);
const pgExec = (sql: string) => pgQuery(b, sql).trim();
const sqliteRows = (file: string) =>
  sh(`sqlite3 -cmd '.timeout 10000' ${file} 'SELECT name FROM records_patient ORDER BY id'`);

describe('rollback', () => {
  test('emergency after a compatible release: image and env back, the database kept as it is, the records written since live', async () => {
    resetInstance('a');
    const envBefore = env(a);
    const d = await run(a, { command: 'deploy', version: 'v2' });
    assert.equal(d.code, 0, d.stdout);
    await addRecord(a, 'written-after-the-deploy');
    const r = await run(a, { command: 'rollback' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs['previous-image'], `${h.image}:v2`);
    assert.equal(r.outputs['deployed-image'], `${h.image}:v1`);
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(await version(a), 'v1');
    assert.equal(env(a), envBefore);
    const snap = manifestOf(r);
    assert.equal(snap.reason, 'pre-restore');
    assert.match(
      sqliteRows(join(setDir(a, snap.id), 'database.sqlite3')),
      /written-after-the-deploy/,
      'the later write is in the snapshot',
    );
    assert.match(r.summary, /emergency rollback to .*scope app/);
    assert.match(r.summary, /to undo this rollback/);
    // v2 only added a nullable column (classified compatible before it was deployed): v1 runs on that
    // schema, so the database is kept as it is, every record and value written since live.
    assert.match(
      r.summary,
      /database not restored: the schema moved only by the release's own compatible migrations \(records\.0002_patient_ward \(compatible: AddField\)\): the previous version runs on it, so the database is kept, every record and value/,
    );
    assert.match(
      sh(
        `sqlite3 -cmd '.timeout 10000' /var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3 'PRAGMA table_info(records_patient)'`,
      ),
      /\|ward\|/,
      "v2's column stays, with its values",
    );
    assert.match(
      sqliteRows(`/var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3`),
      /written-after-the-deploy/,
    );
    await addRecord(a, 'written-by-v1-after-the-rollback');
    assert.match(
      sqliteRows(`/var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3`),
      /written-by-v1-after-the-rollback/,
    );
  });

  test('a release that breaks the old code’s writes (v8) is migrated back, not restored: every record kept, v1 writes again', async () => {
    resetInstance('a');
    const live = `/var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3`;
    const columns = () => sh(`sqlite3 -cmd '.timeout 10000' ${live} 'PRAGMA table_info(records_patient)'`);
    // A failed deploy's automatic rollback: v8 is healthy, a smoke test fails on it (and only on it).
    const smoke = { 'smoke-commands': '[ "$APP_VERSION" != v8 ]' };
    const failed = await run(a, { command: 'deploy', version: 'v8', ...smoke });
    assert.equal(failed.outputs.result, 'rolled-back', failed.stdout.slice(-3000));
    assert.equal(failed.outputs.health, 'healthy');
    assert.match(failed.summary, /### Migrations \(breaks-old-writes\)/);
    assert.match(
      failed.summary,
      /schema migrated back to records:0001_initial with 127\.0\.0\.1:5000\/eqmd:v8: every record kept/,
    );
    assert.doesNotMatch(columns(), /priority/, 'the column v8 added is gone');
    // Later: v8 deployed and written to, then an emergency rollback.
    const d = await run(a, { command: 'deploy', version: 'v8' });
    assert.equal(d.code, 0, d.stdout.slice(-3000));
    await addRecord(a, 'written-by-v8');
    const r = await run(a, { command: 'rollback' });
    assert.equal(r.code, 0, r.stdout.slice(-3000));
    assert.equal(await version(a), 'v1');
    assert.match(r.summary, /schema migrated back to records:0001_initial with .*every record kept/);
    assert.match(sqliteRows(live), /written-by-v8/, 'the record written by v8 is live');
    assert.doesNotMatch(columns(), /priority/);
    await addRecord(a, 'written-by-v1-after-the-rollback');
    assert.match(sqliteRows(live), /written-by-v1-after-the-rollback/, 'v1 writes again');
  });

  test('PostgreSQL over compose v1: v8 written to, then an emergency rollback migrates it back, every record kept', async () => {
    resetInstance('b');
    const d = await run(b, { command: 'deploy', version: 'v8' });
    assert.equal(d.code, 0, d.stdout.slice(-3000));
    await addRecord(b, 'written-by-v8');
    const r = await run(b, { command: 'rollback' });
    assert.equal(r.code, 0, r.stdout.slice(-3000));
    assert.equal(await version(b), 'v1');
    assert.match(r.summary, /schema migrated back to records:0001_initial with .*every record kept/);
    assert.match(pgExec('SELECT name FROM records_patient ORDER BY id'), /written-by-v8/);
    assert.equal(
      pgExec("SELECT count(*) FROM information_schema.columns WHERE column_name = 'priority'"),
      '0',
    );
    await addRecord(b, 'written-by-v1-after-the-rollback');
    assert.match(pgExec('SELECT name FROM records_patient ORDER BY id'), /written-by-v1-after-the-rollback/);
  });

  test('a destructive release (v9 drops a column) rolled back later: restored, and the inserts, updates and deletes made since carried over', async () => {
    resetInstance('a');
    const live = `/var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3`;
    const sql = (q: string) => sh(`sqlite3 -cmd '.timeout 10000' ${live} "${q}"`).trim();
    assert.equal((await run(a, { command: 'deploy', version: 'v2' })).code, 0);
    sql(
      "UPDATE records_patient SET ward = 'north' WHERE id IN (SELECT id FROM records_patient ORDER BY id LIMIT 3)",
    );
    const before = Number(sql('SELECT count(*) FROM records_patient'));
    const d = await run(a, { command: 'deploy', version: 'v9' });
    assert.equal(d.code, 0, d.stdout.slice(-3000));
    assert.match(
      d.summary,
      /### Migrations \(destructive\)\n\n- records\.0003_remove_patient_ward \(destructive: RemoveField\)/,
    );
    await addRecord(a, 'written-by-v9-first');
    await addRecord(a, 'written-by-v9-second');
    // What the app would do through v9: change a record, remove another.
    sql(
      "UPDATE records_patient SET notes = 'changed-through-v9' WHERE id = (SELECT min(id) FROM records_patient)",
    );
    sql(
      'DELETE FROM records_patient WHERE id = (SELECT id FROM records_patient ORDER BY id LIMIT 1 OFFSET 3)',
    );
    const r = await run(a, { command: 'rollback' });
    assert.equal(r.code, 0, r.stdout.slice(-3000));
    assert.equal(await version(a), 'v2', r.stdout.slice(-6000));
    assert.match(r.summary, /SQLite \/app\/database\/db\.sqlite3 restored/);
    assert.match(
      r.summary,
      /writes made since \S+ carried over: records_patient 2 inserted, 1 updated, 1 deleted/,
    );
    assert.equal(Number(sql('SELECT count(*) FROM records_patient')), before + 1, '+2 written, -1 deleted');
    assert.equal(sql('SELECT notes FROM records_patient ORDER BY id LIMIT 1'), 'changed-through-v9');
    assert.equal(
      sql("SELECT count(*) FROM records_patient WHERE ward = 'north'"),
      '3',
      'the dropped values are back',
    );
    const rows = sqliteRows(live);
    assert.match(
      rows,
      /written-by-v9-first\nwritten-by-v9-second/,
      'the records written through v9 are live',
    );
    const snap = manifestOf(r);
    const report = join(setDir(a, snap.id), 'carry-over.json');
    assert.equal(
      statSync(report).mode & 0o777,
      0o600,
      'the report stays on the host, for the deploy user only',
    );
    await addRecord(a, 'written-by-v2-after-the-rollback');
    assert.match(sqliteRows(live), /written-by-v2-after-the-rollback/);
  });

  test('PostgreSQL: a destructive release (v9) rolled back: restored, and the inserts, updates and deletes made since carried over', async () => {
    resetInstance('b');
    assert.equal((await run(b, { command: 'deploy', version: 'v2' })).code, 0);
    pgExec(
      "UPDATE records_patient SET ward = 'north' WHERE id IN (SELECT id FROM records_patient ORDER BY id LIMIT 3)",
    );
    const before = Number(pgExec('SELECT count(*) FROM records_patient'));
    const d = await run(b, { command: 'deploy', version: 'v9' });
    assert.equal(d.code, 0, d.stdout.slice(-3000));
    await addRecord(b, 'written-by-v9-first');
    await addRecord(b, 'written-by-v9-second');
    // What the app would do through v9: change a record, remove another.
    pgExec(
      "UPDATE records_patient SET notes = 'changed-through-v9' WHERE id = (SELECT min(id) FROM records_patient)",
    );
    pgExec(
      'DELETE FROM records_patient WHERE id = (SELECT id FROM records_patient ORDER BY id OFFSET 3 LIMIT 1)',
    );
    const r = await run(b, { command: 'rollback' });
    assert.equal(r.code, 0, r.stdout.slice(-3000));
    assert.equal(await version(b), 'v2');
    assert.match(r.summary, /PostgreSQL restored from \S+ into a fresh database and swapped in/);
    assert.match(
      r.summary,
      /writes made since \S+ carried over: public\.records_patient 2 inserted, 1 updated, 1 deleted/,
    );
    assert.equal(
      Number(pgExec('SELECT count(*) FROM records_patient')),
      before + 1,
      '+2 written, -1 deleted',
    );
    assert.match(
      pgExec('SELECT name FROM records_patient ORDER BY id'),
      /written-by-v9-first\nwritten-by-v9-second/,
    );
    assert.equal(pgExec('SELECT notes FROM records_patient ORDER BY id LIMIT 1'), 'changed-through-v9');
    assert.equal(
      pgExec("SELECT count(*) FROM records_patient WHERE ward = 'north'"),
      '3',
      'the dropped values are back',
    );
    const snap = manifestOf(r);
    assert.equal(statSync(join(setDir(b, snap.id), 'carry-over.json')).mode & 0o777, 0o600);
    await addRecord(b, 'written-by-v2-after-the-rollback');
    assert.match(
      pgExec('SELECT name FROM records_patient ORDER BY id DESC LIMIT 1'),
      /written-by-v2-after/,
      'the sequence moved past the carried ids',
    );
  });

  test('a named version is pulled, backed up first, switched and verified', async () => {
    resetInstance('a');
    const r = await run(a, { command: 'rollback', version: 'v5' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await version(a), 'v5');
    assert.equal(manifestOf(r).reason, 'pre-restore');
    assert.equal(r.outputs['deployed-image'], `${h.image}:v5`);
  });

  test('an emergency rollback after an operator’s rollback undoes it: the replaced version deployed again, every record kept', async () => {
    resetInstance('a');
    const live = `/var/lib/docker/volumes/${a.composeProject}_database/_data/db.sqlite3`;
    const d = await run(a, { command: 'deploy', version: 'v2' }, { env: { GITHUB_EVENT_NAME: 'push' } });
    assert.equal(d.code, 0, d.stdout);
    await addRecord(a, 'written-by-v2');
    const operator = { env: { GITHUB_EVENT_NAME: 'workflow_dispatch' } };
    const manual = await run(a, { command: 'rollback', version: 'v1' }, operator);
    assert.equal(manual.code, 0, manual.stdout);
    assert.equal(await version(a), 'v1');
    assert.equal(manifestOf(manual).rollbackMode, 'version');
    await addRecord(a, 'written-by-v1');
    const e = await run(a, { command: 'rollback' }, operator);
    assert.equal(e.code, 0, e.stdout);
    assert.equal(e.outputs['deployed-image'], `${h.image}:v2`);
    assert.equal(e.outputs['previous-image'], `${h.image}:v1`);
    assert.equal(e.outputs.result, 'succeeded');
    assert.equal(await version(a), 'v2');
    assert.match(e.summary, /emergency rollback to 127\.0\.0\.1:5000\/eqmd:v2/);
    assert.match(e.summary, /undid it by deploying the version it replaced again/);
    // A deploy, not a restore: its safety backup is a pre-deploy set and no set was put back.
    assert.equal(manifestOf(e).reason, 'pre-deploy');
    assert.match(sqliteRows(live), /written-by-v2[\s\S]*written-by-v1/);
  });

  test('static files deleted on the host are restored from a set (scope static)', async () => {
    // The test before ends on v2, healthy: kept as it is (reset only if not).
    await resetUnlessServing(a, 'v2');
    const bk = await run(a, { command: 'backup' });
    assert.equal(bk.code, 0, bk.stdout);
    sh(`rm /var/lib/docker/volumes/eqmd-a_static_files/_data/manifest.json`);
    const broken = await run(a, { command: 'verify' });
    assert.equal(broken.code, 1, 'verify sees the missing static file');
    const r = await run(a, { command: 'rollback', 'backup-id': bk.outputs['backup-id']!, scope: 'static' });
    assert.equal(r.code, 0, r.stdout);
    assert.ok(existsSync('/var/lib/docker/volumes/eqmd-a_static_files/_data/manifest.json'));
    assert.match(r.summary, /volume eqmd-a_static_files from/);
    const after = await run(a, { command: 'verify' });
    assert.equal(after.code, 0, after.summary);
  });

  test('scope full (PostgreSQL, volumes, env, image): back to the set; rows and uploads written later are in the snapshot', async () => {
    resetInstance('b');
    const bk = await run(b, { command: 'backup' });
    assert.equal(bk.code, 0, bk.stdout);
    const rowsAtBackup = await recordCount(b);
    await addRecord(b, 'after-backup-row');
    sh(`echo scan > /var/lib/docker/volumes/eqmd-b_media_files/_data/uploaded-after-backup.txt`);
    const d = await run(b, { command: 'deploy', version: 'v5' });
    assert.equal(d.code, 0, d.stdout);
    const r = await run(b, { command: 'rollback', 'backup-id': bk.outputs['backup-id']!, scope: 'full' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await version(b), 'v1');
    assert.equal(await recordCount(b), rowsAtBackup);
    assert.ok(
      !pgExec('SELECT name FROM records_patient').includes('after-backup-row'),
      'the later row is gone from the live database',
    );
    assert.ok(!existsSync('/var/lib/docker/volumes/eqmd-b_media_files/_data/uploaded-after-backup.txt'));
    const snap = manifestOf(r);
    const dir = setDir(b, snap.id);
    assert.match(
      sh(`pg_restore -f - ${dir}/database.dump`),
      /after-backup-row/,
      'the later row is in the pre-restore dump',
    );
    assert.match(
      sh(`tar -tf ${dir}/volumes/eqmd-b_media_files.tar`),
      /uploaded-after-backup\.txt/,
      'the later upload is in the snapshot',
    );
  });

  test('scope database on its own', async () => {
    // The test before ends on v1, healthy: kept as it is (reset only if not).
    await resetUnlessServing(b, 'v1');
    const bk = await run(b, { command: 'backup', volumes: 'none' });
    const rows = await recordCount(b);
    await addRecord(b, 'x1');
    await addRecord(b, 'x2');
    const r = await run(b, { command: 'rollback', 'backup-id': bk.outputs['backup-id']!, scope: 'database' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await recordCount(b), rows);
    assert.match(r.summary, /PostgreSQL restored from/);
  });

  test('a set whose env file named an image never applied restores what ran, and retags nothing else', async () => {
    resetInstance('a');
    const tagOf = (v: string) => sh(`docker image inspect -f '{{.Id}}' ${h.image}:${v}`).trim();
    const v2 = tagOf('v2');
    // An operator staged v2 in the env file without recreating the container: v1 runs.
    sh(`sed -i 's|^EQMD_IMAGE=.*|EQMD_IMAGE=${h.image}:v2|' ${join(a.projectDir, '.env')}`);
    const bk = await run(a, { command: 'backup' });
    assert.equal(bk.code, 0, bk.stdout);
    assert.equal(manifestOf(bk).image.envValue, `${h.image}:v2`);
    assert.equal(manifestOf(bk).image.reference, `${h.image}:v1`);
    const d = await run(a, { command: 'deploy', version: 'v5' });
    assert.equal(d.code, 0, d.stdout);

    const r = await run(a, { command: 'rollback', 'backup-id': bk.outputs['backup-id']! });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await version(a), 'v1', 'what ran when the set was made runs again');
    assert.equal(tagOf('v2'), v2, 'the v2 tag still names v2');
    assert.match(env(a), new RegExp(`^EQMD_IMAGE=${h.image}:v1$`, 'm'));
    assert.match(r.stdout, /::warning::EQMD_IMAGE set to .*:v1: when the set was made, the env file said/);
  });

  test('an unknown backup id, or one of another instance, is refused', async () => {
    const r = await run(a, { command: 'rollback', 'backup-id': '20200101T000000Z-000000' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /no backup set 20200101T000000Z-000000 of project eqmd-a/);
    assert.equal(r.outputs.result, 'refused');
    assert.match(r.summary, /## eqmd-rollback: rollback ⛔ refused/);
  });
});

// A corrupted set, two runs at once, a hand-taken and a stale lock: fault rows 4 and 8 in __tests__/faults/.
