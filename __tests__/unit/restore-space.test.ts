import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSpace, spaceProblems } from '../../src/restore/space.js';

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
