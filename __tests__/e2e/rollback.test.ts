import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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
} from './harness.js';

const h = testHost();
const { a, b } = h.instances;
const conn = (i: Instance) => ({
  ...connectionInputs(h, i === b ? 'v1' : 'v2'),
  'project-dir': i.projectDir,
  'health-url': i.healthUrl.replace('127.0.0.1', 'localhost'),
  'upload-artifact': 'false',
});
const run = (i: Instance, inputs: Record<string, string>) => runAction({ ...conn(i), ...inputs });
const version = servedVersion;
const env = envFileOf;
const manifestOf = (r: ActionRun) => JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;
const setDir = (i: Instance, id: string) => join(i.projectDir, 'backups', id);
const pgExec = (sql: string) => pgQuery(b, sql).trim();
const sqliteRows = (file: string) => sh(`sqlite3 ${file} 'SELECT name FROM records_patient ORDER BY id'`);

describe('rollback', () => {
  test('emergency: back to the image and env before the last change; later writes kept in the pre-restore snapshot', async () => {
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
  });

  test('a named version is pulled, backed up first, switched and verified', async () => {
    resetInstance('a');
    const r = await run(a, { command: 'rollback', version: 'v5' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await version(a), 'v5');
    assert.equal(manifestOf(r).reason, 'pre-restore');
    assert.equal(r.outputs['deployed-image'], `${h.image}:v5`);
  });

  test('static files deleted on the host are restored from a set (scope static)', async () => {
    resetInstance('a');
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
    resetInstance('b');
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
