import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpace, restoreSpaceStep, spaceProblems } from '../../src/restore/space.js';

const MiB = 1 << 20;

test('the room a restore needs: accept/reject table', () => {
  const kb = (bytes: number) => Math.ceil(bytes / 1024);
  // [kind, backup free, db free, live bytes, set db bytes, problems expected (by where)]
  const table: ['sqlite' | 'postgres', number | null, number | null, number | null, number, string[]][] = [
    ['sqlite', kb(100 * MiB), kb(100 * MiB), 10 * MiB, 10 * MiB, []],
    // Exactly the estimate (110% + 1 MiB) fits; one KiB less does not.
    ['sqlite', kb(12 * MiB), kb(12 * MiB), 10 * MiB, 10 * MiB, []],
    ['sqlite', kb(12 * MiB) - 1, kb(100 * MiB), 10 * MiB, 10 * MiB, ['backup dir']],
    ['sqlite', kb(100 * MiB), kb(12 * MiB) - 1, 10 * MiB, 10 * MiB, ["database's disk"]],
    // SQLite's restored copy is the set's file; the snapshot is the live one (grown since).
    ['sqlite', kb(100 * MiB), kb(12 * MiB), 50 * MiB, 10 * MiB, []],
    ['sqlite', kb(40 * MiB), kb(100 * MiB), 50 * MiB, 10 * MiB, ['backup dir']],
    // PostgreSQL's fresh database is about the live one's size.
    ['postgres', kb(100 * MiB), kb(40 * MiB), 50 * MiB, 10 * MiB, ["database's disk"]],
    ['postgres', kb(1 * MiB), kb(1 * MiB), 50 * MiB, 10 * MiB, ['backup dir', "database's disk"]],
    // Not measured: said, never refused.
    ['postgres', kb(100 * MiB), null, 50 * MiB, 10 * MiB, []],
    ['sqlite', null, null, null, 10 * MiB, []],
    // The live size unknown: the set's is used.
    ['sqlite', kb(5 * MiB), kb(100 * MiB), null, 10 * MiB, ['backup dir']],
  ];
  for (const [kind, backupFreeKb, dbFreeKb, liveBytes, setDb, want] of table) {
    const r = spaceProblems(kind, { backupFreeKb, dbFreeKb, liveBytes }, setDb);
    const where = r.problems.map((p) => (p.startsWith('the backup dir') ? 'backup dir' : "database's disk"));
    assert.deepEqual(where, want, JSON.stringify({ kind, backupFreeKb, dbFreeKb, liveBytes, setDb }));
    for (const p of r.problems) assert.match(p, /has \d+\.\d MiB free; the .* needs about \d+\.\d MiB$/);
  }
  assert.deepEqual(
    spaceProblems('sqlite', { backupFreeKb: null, dbFreeKb: 1, liveBytes: null }, 0).unmeasured,
    ['the live database size (the set’s is used)', 'free space in the backup dir'],
  );
});

test('what the host printed is read like input: numbers only, else not measured', () => {
  const table: [string, ReturnType<typeof readSpace>][] = [
    [
      'backup_free_kb=123\ndb_free_kb=456\nlive_bytes=789\n',
      { backupFreeKb: 123, dbFreeKb: 456, liveBytes: 789 },
    ],
    ['backup_free_kb=\ndb_free_kb=\nlive_bytes=\n', { backupFreeKb: null, dbFreeKb: null, liveBytes: null }],
    [
      'backup_free_kb=12abc\ndb_free_kb=-5\nlive_bytes=1e9\n',
      { backupFreeKb: null, dbFreeKb: null, liveBytes: null },
    ],
    ['backup_free_kb=99999999999999999999\n', { backupFreeKb: null, dbFreeKb: null, liveBytes: null }],
    ['', { backupFreeKb: null, dbFreeKb: null, liveBytes: null }],
  ];
  for (const [out, want] of table) assert.deepEqual(readSpace(out), want, out);
});

test('the SQLite measure runs under a real shell: free space and the live file with its WAL, one exec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-space-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // A stand-in `docker exec CONTAINER CMD…` that runs CMD here and counts the execs.
  writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho x >> ${dir}/execs\nshift 2\nexec "$@"\n`);
  chmodSync(join(bin, 'docker'), 0o755);
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, 'db', 'db.sqlite3'), Buffer.alloc(3000));
  writeFileSync(join(dir, 'db', 'db.sqlite3-wal'), Buffer.alloc(500));
  const measure = (path: string) => {
    const s = restoreSpaceStep(dir, { kind: 'sqlite', container: 'c', path });
    return readSpace(
      execFileSync('sh', ['-c', s.command], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      }),
    );
  };
  const m = measure(join(dir, 'db', 'db.sqlite3'));
  assert.equal(m.liveBytes, 3500);
  assert.ok(m.dbFreeKb !== null && m.dbFreeKb > 0, JSON.stringify(m));
  assert.ok(m.backupFreeKb !== null && m.backupFreeKb > 0, 'the backup dir');
  assert.equal(readFileSync(join(dir, 'execs'), 'utf8'), 'x\n', 'one exec in the container');
  // A directory that does not exist: its free space is not measured, never guessed.
  assert.equal(measure(join(dir, 'gone', 'db.sqlite3')).dbFreeKb, null);
});
