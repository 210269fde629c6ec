import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCarryOver } from '../../src/carry-over/read.js';
import { CARRY_OVER_PY } from '../../src/carry-over/script.js';

/**
 * The carry-over script run by a real python3 on real SQLite files: a database restored to the set
 * (the previous release's schema, with a `ward` column) and the replaced one (the release dropped `ward`
 * and took writes, updates and deletes).
 */
const SET = `
PRAGMA journal_mode = WAL;
CREATE TABLE records_ward (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE records_patient (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(200) NOT NULL,
  notes text NOT NULL, ward varchar(50) NULL, ward_ref_id integer NULL REFERENCES records_ward (id));
CREATE TABLE django_migrations (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, app varchar(255), name varchar(255));
INSERT INTO records_ward (name) VALUES ('north');
INSERT INTO records_patient (name, notes, ward, ward_ref_id) VALUES ('a', 'n1', 'w1', 1), ('b', 'n2', 'w2', NULL), ('c', 'n3', NULL, NULL);
INSERT INTO django_migrations (app, name) VALUES ('records', '0001'), ('records', '0002');
`;
/** The release: drops `ward`, then its users write. */
const RELEASE = `
CREATE TABLE p2 AS SELECT id, name, notes, ward_ref_id FROM records_patient;
DROP TABLE records_patient;
CREATE TABLE records_patient (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(200) NOT NULL,
  notes text NOT NULL, ward_ref_id integer NULL REFERENCES records_ward (id));
INSERT INTO records_patient SELECT * FROM p2; DROP TABLE p2;
INSERT INTO django_migrations (app, name) VALUES ('records', '0003');
CREATE TABLE records_audit (id integer PRIMARY KEY, what text); INSERT INTO records_audit VALUES (1, 'x');
UPDATE records_patient SET name = 'a-renamed' WHERE id = 1;
DELETE FROM records_patient WHERE id = 2;
INSERT INTO records_ward (name) VALUES ('south');
INSERT INTO records_patient (name, notes, ward_ref_id) VALUES ('d', 'n4', 2), ('e', 'n5', NULL);
`;

function databases(extraRestored = '', extraReplaced = '') {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-carry-'));
  const restored = join(dir, 'restored.sqlite3');
  const replaced = join(dir, 'replaced.sqlite3');
  execFileSync('python3', [
    '-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.close()',
    restored,
    SET + extraRestored,
  ]);
  execFileSync('python3', [
    '-c',
    'import shutil,sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.executescript(sys.argv[3]); d.close()',
    restored,
    replaced,
    RELEASE + extraReplaced,
  ]);
  return { dir, restored, replaced };
}
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const carry = (restored: string, replaced: string, expected = sha(replaced)) =>
  spawnSync('python3', ['-', restored, replaced, expected], { input: CARRY_OVER_PY, encoding: 'utf8' });
const query = (file: string, sql: string) =>
  execFileSync(
    'python3',
    [
      '-c',
      'import sqlite3,sys; print("\\n".join("|".join("" if v is None else str(v) for v in r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))',
      file,
      sql,
    ],
    { encoding: 'utf8' },
  ).trim();

test('inserted, updated and deleted rows are carried on the shared columns; the restored values of dropped columns stay', () => {
  const { restored, replaced } = databases();
  const r = carry(restored, replaced);
  assert.equal(r.status, 0, r.stderr);
  const read = readCarryOver(r.stdout);
  assert.ok(read.ok);
  assert.deepEqual(read.tables.records_patient, { inserted: 2, updated: 1, deleted: 1, listed: 0 });
  assert.deepEqual(read.tables.records_ward, { inserted: 1, updated: 0, deleted: 0, listed: 0 });
  assert.equal(read.listed, 1, 'the table only the release has is listed');
  assert.equal(
    query(restored, 'SELECT id, name, ward, ward_ref_id FROM records_patient ORDER BY id'),
    ['1|a-renamed|w1|1', '3|c||', '4|d||2', '5|e||'].join('\n'),
  );
  assert.equal(
    query(restored, 'SELECT count(*) FROM django_migrations'),
    '2',
    'the schema record stays the restored one',
  );
  assert.equal(
    query(restored, "SELECT seq FROM sqlite_sequence WHERE name = 'records_patient'"),
    '5',
    'ids move past the carried ones',
  );
  assert.equal(
    query(restored, "SELECT name FROM sqlite_master WHERE name = 'records_audit'"),
    '',
    'no table of the release appears',
  );
});

test('what cannot be carried is listed with table, key and reason, never guessed', () => {
  // t2: the previous schema needs a value (w) the release's rows never had. A ward name the restored
  // database already holds under another id: a unique clash.
  const { restored, replaced } = databases(
    'CREATE TABLE t2 (id integer PRIMARY KEY, v text NOT NULL, w text NOT NULL);',
    "DROP TABLE t2; CREATE TABLE t2 (id integer PRIMARY KEY, v text NOT NULL); INSERT INTO t2 VALUES (7, 'secret');",
  );
  execFileSync('python3', [
    '-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()',
    restored,
    "INSERT INTO records_ward (id, name) VALUES (3, 'south')",
  ]);
  const r = carry(restored, replaced);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { listed: { table: string; key: unknown; reason: string }[] };
  const has = (table: string, key: unknown, reason: RegExp) =>
    report.listed.some((l) => l.table === table && l.key === key && reason.test(l.reason));
  assert.ok(has('records_ward', 2, /refuses it: UNIQUE constraint failed/), JSON.stringify(report.listed));
  assert.ok(has('t2', 7, /needs a value for w/), JSON.stringify(report.listed));
  // Patient 4 was in the uncarried ward 2: taken out again and listed, the others carried.
  assert.ok(
    has('records_patient', 4, /refers to a row of records_ward that is not there/),
    JSON.stringify(report.listed),
  );
  assert.equal(query(restored, 'SELECT id FROM records_patient ORDER BY id'), ['1', '3', '5'].join('\n'));
  assert.ok(!r.stdout.includes('south') && !r.stdout.includes('secret'), 'no value reaches the report');
  assert.equal(query(restored, 'SELECT count(*) FROM t2'), '0');
});

test('a renamed column: rows inserted since are carried without the values only the release has, and listed', () => {
  // t3: the release renamed w to unit (a new column, w dropped): the old rows keep w as restored; the
  // rows inserted since have a unit the previous version has no column for.
  const { restored, replaced } = databases(
    "CREATE TABLE t3 (id integer PRIMARY KEY, v text NOT NULL, w text NULL); INSERT INTO t3 VALUES (1, 'one', 'w-one');",
    "ALTER TABLE t3 RENAME COLUMN w TO unit; INSERT INTO t3 VALUES (2, 'two', 'unit-two'), (3, 'three', NULL);",
  );
  const r = carry(restored, replaced);
  assert.equal(r.status, 0, r.stderr);
  const read = readCarryOver(r.stdout);
  assert.ok(read.ok);
  assert.deepEqual(read.tables.t3, { inserted: 2, updated: 0, deleted: 0, listed: 2 });
  const report = JSON.parse(r.stdout) as { listed: { table: string; key: unknown; reason: string }[] };
  assert.deepEqual(
    report.listed.filter((l) => l.table === 't3'),
    [
      // Row 1's value under the new name is its restored `w`; said all the same: the script cannot know.
      {
        table: 't3',
        key: null,
        reason:
          '1 rows of the set hold values in columns only the release has (unit): not carried (the values are in the snapshot)',
      },
      {
        table: 't3',
        key: 2,
        reason:
          'inserted since, carried without unit: the previous version has no such column (the values are in the snapshot)',
      },
    ],
  );
  assert.equal(
    query(restored, 'SELECT id, v, w FROM t3 ORDER BY id'),
    ['1|one|w-one', '2|two|', '3|three|'].join('\n'),
  );
  assert.ok(!r.stdout.includes('unit-two'), 'no value reaches the report');
});

test('values only the release has, on rows updated since or left alone, are listed: per row, and counted for the set’s rows', () => {
  // t4: the release added `allergy` (the previous version has no such column) and took writes in it:
  // row 1 changed in a shared column too, row 2 only in allergy, row 4 inserted with one.
  const { restored, replaced } = databases(
    "CREATE TABLE t4 (id integer PRIMARY KEY, v text NOT NULL); INSERT INTO t4 VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    `ALTER TABLE t4 ADD COLUMN allergy text NULL;
     UPDATE t4 SET v = 'one-changed', allergy = 'penicillin' WHERE id = 1;
     UPDATE t4 SET allergy = 'latex' WHERE id = 2;
     INSERT INTO t4 VALUES (4, 'four', 'nuts'), (5, 'five', NULL);`,
  );
  const r = carry(restored, replaced);
  assert.equal(r.status, 0, r.stderr);
  const read = readCarryOver(r.stdout);
  assert.ok(read.ok);
  assert.deepEqual(read.tables.t4, { inserted: 2, updated: 1, deleted: 0, listed: 3 });
  const report = JSON.parse(r.stdout) as { listed: { table: string; key: unknown; reason: string }[] };
  const without = ': the previous version has no such column (the values are in the snapshot)';
  assert.deepEqual(
    report.listed.filter((l) => l.table === 't4'),
    [
      {
        table: 't4',
        key: null,
        reason:
          '1 rows of the set hold values in columns only the release has (allergy): not carried (the values are in the snapshot)',
      },
      { table: 't4', key: 4, reason: `inserted since, carried without allergy${without}` },
      { table: 't4', key: 1, reason: `updated since, carried without allergy${without}` },
    ],
  );
  assert.equal(
    query(restored, 'SELECT id, v FROM t4 ORDER BY id'),
    '1|one-changed\n2|two\n3|three\n4|four\n5|five',
  );
  for (const value of ['penicillin', 'latex', 'nuts'])
    assert.ok(!r.stdout.includes(value), 'no value reaches the report');
});

test('a table split by a data migration: the moved values are in a table the previous version lacks, listed with its rows', () => {
  // The release moves patients' ward into records_wardstay (one row per patient) and drops the column.
  const { restored, replaced } = databases(
    '',
    `CREATE TABLE records_wardstay (id integer PRIMARY KEY, patient_id integer NOT NULL REFERENCES records_patient (id), ward text NOT NULL);
     INSERT INTO records_wardstay (patient_id, ward) SELECT id, 'moved' FROM records_patient;`,
  );
  const r = carry(restored, replaced);
  assert.equal(r.status, 0, r.stderr);
  const read = readCarryOver(r.stdout);
  assert.ok(read.ok);
  const report = JSON.parse(r.stdout) as { listed: { table: string; key: unknown; reason: string }[] };
  assert.deepEqual(
    report.listed.find((l) => l.table === 'records_wardstay'),
    {
      table: 'records_wardstay',
      key: null,
      reason: 'the previous version has no such table (4 rows not carried)',
    },
    'the split-off values are said to be only in the snapshot',
  );
  // The patients themselves are carried on the columns both versions have; the old rows keep their ward.
  assert.deepEqual(read.tables.records_patient, { inserted: 2, updated: 1, deleted: 1, listed: 0 });
  assert.equal(query(restored, 'SELECT ward FROM records_patient WHERE id = 1'), 'w1');
});

test('a foreign key the result would break, or a copy that is not the snapshot: nothing is carried', () => {
  // A table the release dropped still points at patient 2, whom the release deleted.
  const broken = databases(
    'CREATE TABLE records_note (id integer PRIMARY KEY, patient_id integer NOT NULL REFERENCES records_patient (id)); INSERT INTO records_note VALUES (1, 2);',
    'DROP TABLE records_note;',
  );
  const before = query(broken.restored, 'SELECT * FROM records_patient ORDER BY id');
  const r = carry(broken.restored, broken.replaced);
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /would break 1 foreign key reference\(s\), first in table records_note: nothing carried/,
  );
  assert.equal(
    query(broken.restored, 'SELECT * FROM records_patient ORDER BY id'),
    before,
    'left as restored',
  );
  const { restored, replaced } = databases();
  const wrong = carry(restored, replaced, '0'.repeat(64));
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /does not match its checksum/);
});

test('the report is read like host data: accept/reject table', () => {
  const ok =
    '{"listed":[{"key":4,"reason":"r","table":"t"}],"tables":{"t":{"deleted":0,"inserted":1,"listed":1,"updated":0}}}';
  assert.deepEqual(readCarryOver(`noise\n${ok}\n`), {
    ok: true,
    tables: { t: { deleted: 0, inserted: 1, listed: 1, updated: 0 } },
    listed: 1,
  });
  for (const bad of [
    '',
    'not json',
    '{"tables":{},"listed":[],"x":1}',
    '{"tables":{"t;drop":{"deleted":0,"inserted":0,"listed":0,"updated":0}},"listed":[]}',
    '{"tables":{"t":{"deleted":-1,"inserted":0,"listed":0,"updated":0}},"listed":[]}',
    '{"tables":{"__proto__":{}},"listed":[]}',
  ])
    assert.equal(readCarryOver(bad).ok, false, bad);
});
