import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import {
  addRecord,
  envFileOf,
  pgQuery,
  recordCount,
  resetInstance,
  resetInstances,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import {
  backupDirOf,
  liveNames,
  runningAppContainers,
  setNames,
  setProblems,
  setsOf,
  volumePath,
  waitFor,
  type SetOnDisk,
  instanceInputs,
} from './inject.js';

const h = testHost();
const { a, b } = h.instances;
const run = (i: Instance, inputs: Record<string, string>) => runAction({ ...instanceInputs(i), ...inputs });
const ok = (r: ActionRun) => assert.equal(r.code, 0, r.stdout.slice(-3000));
const setById = (i: Instance, id: string): SetOnDisk => setsOf(i).find((s) => s.id === id)!;
const pgTables = () =>
  pgQuery(b, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").trim().split('\n');

/** Commits 5 rows with checkpoints off, says so, then keeps its connection open until killed. */
const WAL_WRITER = `import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('PRAGMA wal_autocheckpoint=0')
for k in range(5):
    c.execute("INSERT INTO records_patient (name, notes, created) VALUES (?, '', datetime('now'))", ('after-backup-%d' % k,))
open(os.path.join(os.path.dirname(sys.argv[1]), 'wal-writer-ready'), 'w').write('ok')
time.sleep(600)`;

describe('restore faults', () => {
  fault(2, 'kill -9 of the app (leaves -wal/-shm), then restore', async () => {
    resetInstance('a');
    const bk = await run(a, { command: 'backup' });
    ok(bk);
    const dbDir = volumePath('eqmd-a_database');
    const app = runningAppContainers(a)[0]!;
    // The app crashes while a connection has committed rows that are only in the WAL: a writer in
    // the container with automatic checkpoints off, killed with the container.
    const writer = spawn('docker', ['exec', app, 'python', '-c', WAL_WRITER, '/app/database/db.sqlite3']);
    await waitFor('rows committed to the WAL', () => {
      try {
        return (
          readFileSync(join(dbDir, 'db.sqlite3-wal')).length > 0 &&
          readFileSync(join(dbDir, 'wal-writer-ready'), 'utf8') === 'ok'
        );
      } catch {
        return false;
      }
    });
    sh(`docker kill -s KILL ${app} >/dev/null`);
    writer.kill();
    sh(`rm -f ${join(dbDir, 'wal-writer-ready')}`);
    assert.ok(existsSync(join(dbDir, 'db.sqlite3-wal')), 'the kill left a -wal file (the fault is real)');
    const walBytes = readFileSync(join(dbDir, 'db.sqlite3-wal')).length;
    assert.ok(walBytes > 0, 'with committed rows in it');
    const r = await run(a, { command: 'rollback', 'backup-id': bk.outputs['backup-id']!, scope: 'database' });
    ok(r);
    const snap = setById(a, r.outputs['backup-id']!);
    // Either the stale -wal/-shm were moved aside, or the pre-restore snapshot (which opens the
    // database through SQLite) absorbed the WAL first; the restored file must never replay them.
    const aside = readdirSync(dbDir).filter((f) => f.startsWith('.eqmd-aside-'));
    const movedAside = aside.some((f) => f.endsWith('-wal'));
    const restored = setById(a, bk.outputs['backup-id']!).manifest.database.tables!['records_patient'];
    assert.equal(await recordCount(a), restored, 'restored rows match the manifest');
    const kept = setNames(a, snap).filter((n) => n.startsWith('after-backup-'));
    assert.equal(kept.length, 5, 'the rows only in the killed WAL are in the pre-restore snapshot');
    return `-wal (${walBytes} bytes) ${movedAside ? 'moved aside' : 'absorbed by the pre-restore snapshot, none replayed'}; ${restored} rows = manifest; the 5 rows only in the WAL are in snapshot ${snap.id}`;
  });

  fault(3, 'roll back after a migration added a table (Postgres)', async () => {
    resetInstance('b');
    const before = pgTables();
    ok(await run(b, { command: 'deploy', version: 'v6' }));
    assert.ok(pgTables().includes('records_auditentry'), 'v6 added its table');
    // A restore (asked for: by plan a compatible release's schema is kept, see rollback-classes).
    const r = await run(b, { command: 'rollback', 'restore-database': 'always' });
    ok(r);
    assert.equal(await servedVersion(b), 'v1');
    assert.deepEqual(pgTables(), before, "the schema is the backup's: the added table is gone");
    assert.equal(
      pgQuery(b, "SELECT count(*) FROM django_migrations WHERE name = '0003_auditentry'").trim(),
      '0',
    );
    return `restore after v6: tables = tables before deploy (${before.length}); records_auditentry gone, 0003 not recorded`;
  });

  fault(4, 'truncated or bit-flipped backup files (compressed and not)', async () => {
    await resetInstances('a', 'b');
    const sa = await run(a, { command: 'backup' });
    const sb = await run(b, { command: 'backup' });
    ok(sa);
    ok(sb);
    const fileOf = (i: Instance, id: string, pick: (p: string) => boolean) =>
      join(
        backupDirOf(i),
        id,
        setById(i, id)
          .manifest.files.map((f) => f.path)
          .find(pick)!,
      );
    const cases: [Instance, string, string, 'flip' | 'truncate'][] = [
      [
        a,
        sa.outputs['backup-id']!,
        fileOf(a, sa.outputs['backup-id']!, (p) => p === 'database.sqlite3'),
        'flip',
      ],
      [
        a,
        sa.outputs['backup-id']!,
        fileOf(a, sa.outputs['backup-id']!, (p) => p === 'database.sqlite3'),
        'truncate',
      ],
      [
        a,
        sa.outputs['backup-id']!,
        fileOf(a, sa.outputs['backup-id']!, (p) => p.includes('media')),
        'truncate',
      ],
      [
        b,
        sb.outputs['backup-id']!,
        fileOf(b, sb.outputs['backup-id']!, (p) => p === 'database.dump'),
        'flip',
      ],
      [
        b,
        sb.outputs['backup-id']!,
        fileOf(b, sb.outputs['backup-id']!, (p) => p === 'database.dump'),
        'truncate',
      ],
    ];
    const seen: string[] = [];
    for (const [i, id, file, how] of cases) {
      const original = readFileSync(file);
      const bad = Buffer.from(original);
      if (how === 'flip') bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0x01;
      writeFileSync(file, how === 'flip' ? bad : original.subarray(0, original.length >> 1));
      await addRecord(i, `live-${seen.length}`);
      const before = {
        env: envFileOf(i),
        rows: await recordCount(i),
        sets: setsOf(i).length,
        c: runningAppContainers(i),
      };
      const r = await run(i, { command: 'rollback', 'backup-id': id, scope: 'full' });
      assert.equal(r.code, 1, r.stdout.slice(-2000));
      assert.match(r.stdout, /fails its checksums, so nothing was restored or changed/);
      assert.deepEqual(
        { env: envFileOf(i), rows: await recordCount(i), sets: setsOf(i).length, c: runningAppContainers(i) },
        before,
      );
      writeFileSync(file, original);
      seen.push(`${how} ${file.split('/').pop()}`);
    }
    // The emergency rollback's target corrupted: it aborts untouched rather than restore it.
    ok(await run(a, { command: 'deploy', version: 'v2' }));
    const pre = setsOf(a).find((s) => s.manifest.reason === 'pre-deploy')!;
    const env = join(backupDirOf(a), pre.id, 'env');
    writeFileSync(env, readFileSync(env, 'utf8').replace('v1', 'v9'));
    const e = await run(a, { command: 'rollback' });
    assert.equal(e.code, 1);
    assert.match(e.stdout, /fails its checksums/);
    assert.equal(await servedVersion(a), 'v2', 'still serving the version it had');
    return `${seen.join(', ')}, and an edited env: each refused by checksum, nothing changed`;
  });

  fault(9, 'postgres killed during restore', async () => {
    resetInstance('b');
    const bk = await run(b, { command: 'backup' });
    ok(bk);
    for (let k = 0; k < 3; k++) await addRecord(b, `live-${k}`);
    const live = liveNames(b).sort();
    const pg = sh(
      `docker ps -q --filter label=com.docker.compose.project=${b.composeProject} --filter label=com.docker.compose.service=postgres`,
    ).trim();
    const setsBefore = setsOf(b).length;
    let killed = false;
    // Killed as soon as the restore starts: right after the pre-restore snapshot is complete.
    const r = await runAction(
      {
        ...instanceInputs(b),
        command: 'rollback',
        'backup-id': bk.outputs['backup-id']!,
        scope: 'database',
        'health-timeout': '15',
      },
      {
        killWhen: () => {
          if (!killed && setsOf(b).length > setsBefore) {
            killed = true;
            sh(`docker kill -s KILL ${pg} >/dev/null`);
          }
          return false;
        },
      },
    );
    assert.ok(killed, 'postgres was killed during the restore');
    assert.notEqual(r.code, 0, 'the step fails: the database could not be restored');
    assert.match(r.stdout, /database NOT restored|PostgreSQL/);
    sh(`docker start ${pg} >/dev/null`);
    await waitFor('postgres to accept connections again', () => {
      try {
        return pgQuery(b, 'SELECT 1').trim() === '1';
      } catch {
        return false;
      }
    });
    assert.deepEqual(liveNames(b).sort(), live, 'the live database is unchanged');
    const again = await run(b, {
      command: 'rollback',
      'backup-id': bk.outputs['backup-id']!,
      scope: 'database',
    });
    ok(again);
    assert.equal(await recordCount(b), 50);
    return `restore failed and said so; live DB unchanged (${live.length} rows); a re-run restored the set (50 rows)`;
  });

  fault(11, 'backup image deleted from the host', async () => {
    resetInstance('a');
    ok(await run(a, { command: 'deploy', version: 'v2' }));
    const pre = setsOf(a).find((s) => s.manifest.reason === 'pre-deploy')!;
    const v1 = `${h.image}:v1`;
    const v1Id = sh(`docker image inspect -f '{{.Id}}' ${v1}`).trim();
    try {
      sh(`docker rmi -f ${pre.manifest.image.backupTag} ${v1} >/dev/null`);
      const pulled = await run(a, { command: 'rollback' });
      ok(pulled);
      assert.match(pulled.stdout, /pulling it by its recorded digest/);
      assert.equal(await servedVersion(a), 'v1');

      // No digest to pull it by: refused before anything stops.
      ok(await run(a, { command: 'deploy', version: 'v2' }));
      const pre2 = setsOf(a).find((s) => s.manifest.reason === 'pre-deploy')!;
      const mf = join(backupDirOf(a), pre2.id, 'manifest.json');
      const m = JSON.parse(readFileSync(mf, 'utf8'));
      m.image.repoDigests = [`${h.image}@sha256:${'0'.repeat(64)}`];
      writeFileSync(mf, JSON.stringify(m));
      sh(`docker rmi -f ${pre2.manifest.image.backupTag} ${v1} >/dev/null`);
      const c = runningAppContainers(a);
      const refused = await run(a, { command: 'rollback' });
      assert.equal(refused.code, 1, refused.stdout.slice(-4000));
      assert.match(refused.stdout, /could not be pulled by digest.*nothing was changed/);
      assert.deepEqual(runningAppContainers(a), c, 'the service was never stopped');
      assert.equal(await servedVersion(a), 'v2');
    } finally {
      // A pull by tag restores the tag and its registry digest (a plain `docker tag` would not, and
      // later sets would record no digest to pull by).
      sh(`docker pull -q ${v1} >/dev/null || docker tag ${v1Id} ${v1}`);
    }
    return 'tag deleted: pulled by digest, verified by image id, rolled back; no digest: refused with the service untouched';
  });

  fault(12, 'uploads (media) written after the backup, then rollback', async () => {
    resetInstance('a');
    const bk = await run(a, { command: 'backup' });
    ok(bk);
    const media = volumePath('eqmd-a_media_files');
    writeFileSync(join(media, 'scan-after-backup.pdf'), 'uploaded after the backup');
    await addRecord(a, 'row-after-backup');
    const r = await run(a, { command: 'rollback', 'backup-id': bk.outputs['backup-id']!, scope: 'full' });
    ok(r);
    assert.equal(existsSync(join(media, 'scan-after-backup.pdf')), false, 'the volume is back to the set');
    const snap = setById(a, r.outputs['backup-id']!);
    const tar = join(
      backupDirOf(a),
      snap.id,
      snap.manifest.files.find((f) => f.path.includes('media'))!.path,
    );
    assert.match(sh(`tar -tf ${tar}`), /scan-after-backup\.pdf/, 'the upload is in the pre-restore snapshot');
    assert.ok(setNames(a, snap).includes('row-after-backup'), 'and so is the later row');
    return `the later upload and row are in pre-restore snapshot ${snap.id}; live volume and DB are the set's`;
  });

  fault(15, 'retention N with the newest backup corrupted', async () => {
    resetInstance('a');
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) {
      const r = await run(a, { command: 'backup' });
      ok(r);
      ids.push(r.outputs['backup-id']!);
    }
    const newest = join(backupDirOf(a), ids[2]!, 'database.sqlite3');
    const bytes = readFileSync(newest);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(newest, bytes);
    // A backup that fails prunes nothing.
    const failed = await run(a, { command: 'backup', 'keep-backups': '1', volumes: 'no_such_volume' });
    assert.equal(failed.code, 1);
    assert.deepEqual(
      setsOf(a)
        .map((s) => s.id)
        .sort(),
      [...ids].sort(),
    );
    const r = await run(a, { command: 'backup', 'keep-backups': '2' });
    ok(r);
    assert.match(r.stdout, new RegExp(`backup set ${ids[2]} fails its checksums`));
    const left = setsOf(a).map((s) => s.id);
    assert.ok(
      left.includes(r.outputs['backup-id']!) && left.includes(ids[1]!),
      'the newest two verified sets are kept',
    );
    assert.ok(left.includes(ids[2]!), 'the corrupted one is left for an operator, never counted');
    assert.ok(!left.includes(ids[0]!), 'only the oldest was pruned');
    assert.deepEqual(setProblems(a), [`${ids[2]}: database.sqlite3 fails its checksum`]);
    return `corrupted newest set not counted (kept for inspection); the new set and the newest intact one kept; the oldest pruned only after the new set verified`;
  });
});
