import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import {
  addRecord,
  pgQuery,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from './harness.js';
import { instanceInputs } from '../faults/inject.js';

/**
 * The rollback chosen by plan for the classes the other suites do not cover, on SQLite (Compose v2) and
 * on PostgreSQL (compose v1): a rename (destructive for the old code, undone by Django without losing a
 * value), a table split by a data migration without a reverse (irreversible), and a compatible release
 * on PostgreSQL. Each release is written to, then rolled back later by the emergency rollback.
 */
const h = testHost();
const { a, b } = h.instances;
// The fault suite's inputs for an instance (b over compose v1, no artifact upload).
const run = (i: Instance, inputs: Record<string, string>) => runAction({ ...instanceInputs(i), ...inputs });
// Instances are reused between runs and tests: the rows each writes carry this run's tag.
const tag = Date.now().toString(36);
const ok = (r: ActionRun) => assert.equal(r.code, 0, r.stdout.slice(-3000));
const manifestOf = (r: ActionRun) => JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;

/** One SQL statement on the instance's live database; rows as `a|b` lines. */
function sql(i: Instance, q: string): string {
  if (i.database !== 'sqlite') return pgQuery(i, q).trim();
  const live = `/var/lib/docker/volumes/${i.composeProject}_database/_data/db.sqlite3`;
  return sh(`sqlite3 -cmd '.timeout 10000' ${live} "${q}"`).trim();
}
const count = (i: Instance, where = 'TRUE') =>
  Number(sql(i, `SELECT count(*) FROM records_patient WHERE ${where}`));
const decision = (r: ActionRun) => /^database: (keep|migrate-back|restore):(.*)$/m.exec(r.stdout);

/**
 * A smoke test that writes a patient through the release, then fails it; on that release only, since the
 * rollback's own verification runs it on v2 too.
 */
const writeThenFail = (version: string) =>
  `[ "$APP_VERSION" != ${version} ] || { python -c "import urllib.request as u; ` +
  `u.urlopen(u.Request('http://127.0.0.1:8000/records/', data=b'name=smoke-${version}-${tag}'))"; exit 3; }`;

/**
 * v2 serving, its first three patients in ward north: the patients and north counts. An instance a test
 * left on v2 is used as it is (the tests share it, each reset costs a redeploy); any other is reset.
 */
async function atV2(i: Instance, fresh = false): Promise<{ rows: number; north: number }> {
  if (fresh || (await servedVersion(i).catch(() => '')) !== 'v2') {
    resetInstance(i === a ? 'a' : 'b');
    ok(await run(i, { command: 'deploy', version: 'v2' }));
  }
  sql(
    i,
    "UPDATE records_patient SET ward = 'north' WHERE id IN (SELECT id FROM records_patient ORDER BY id LIMIT 3)",
  );
  return { rows: count(i), north: count(i, "ward = 'north'") };
}

describe('rollback by plan, per class, on SQLite and PostgreSQL', () => {
  for (const i of [a, b]) {
    test(`${i.database}: a rename (v10) rolled back later and automatically: migrated back, every row and every value kept`, async () => {
      const { rows: before, north } = await atV2(i);
      const d = await run(i, { command: 'deploy', version: 'v10' });
      ok(d);
      assert.match(
        d.summary,
        /### Migrations \(destructive\)\n\n- records\.0003_rename_patient_ward_unit \(destructive: RenameField\)/,
      );
      // The path is known, and Django's way back proven in the image, before the switch.
      assert.match(
        d.summary,
        /A rollback by plan \(restore-database auto\): migrated back with this image, every record kept \(the way back undoes exactly records\.0003_rename_patient_ward_unit, each reversible\)\./,
      );
      await addRecord(i, `written-by-v10-${tag}`);
      // What the app would do through v10: fill the renamed column of a new record, change an old one.
      sql(i, `UPDATE records_patient SET unit = 'south' WHERE name = 'written-by-v10-${tag}'`);
      sql(i, "UPDATE records_patient SET unit = 'east' WHERE id = (SELECT min(id) FROM records_patient)");
      const r = await run(i, { command: 'rollback' });
      ok(r);
      assert.equal(await servedVersion(i), 'v2');
      assert.equal(decision(r)?.[1], 'migrate-back', r.stdout.slice(-3000));
      assert.match(
        r.summary,
        /schema migrated back to records:0002_patient_ward with \S+:v10: every record kept/,
      );
      assert.equal(count(i), before + 1, 'every row, the one written through v10 too');
      assert.equal(sql(i, `SELECT ward FROM records_patient WHERE name = 'written-by-v10-${tag}'`), 'south');
      assert.equal(sql(i, 'SELECT ward FROM records_patient ORDER BY id LIMIT 1'), 'east');
      assert.equal(
        count(i, "ward = 'north'"),
        north - 1,
        'the values from before the release are where they were',
      );
      await addRecord(i, `written-by-v2-after-v10-${tag}`);
      assert.equal(count(i, `name = 'written-by-v2-after-v10-${tag}'`), 1, 'v2 writes again');
      // Automatic: the deploy's own smoke test writes through v10, then fails it.
      const failed = await run(i, {
        command: 'deploy',
        version: 'v10',
        'smoke-commands': writeThenFail('v10'),
      });
      assert.notEqual(failed.code, 0, 'the smoke test failed the deploy');
      assert.equal(await servedVersion(i), 'v2', 'rolled back automatically');
      assert.equal(failed.outputs.health, 'healthy', failed.stdout.slice(-3000));
      assert.equal(decision(failed)?.[1], 'migrate-back', failed.stdout.slice(-3000));
      assert.equal(count(i, `name = 'smoke-v10-${tag}'`), 1, 'the row written through v10 is live');
      assert.equal(count(i), before + 3);
    });

    test(`${i.database}: a table split without a reverse (v11) rolled back later: restored, rows carried over, the split-off values listed`, async () => {
      const { rows: before, north } = await atV2(i);
      const d = await run(i, { command: 'deploy', version: 'v11' });
      ok(d);
      assert.match(
        d.summary,
        /### Migrations \(irreversible\)\n\n- records\.0003_split_ward \(irreversible: CreateModel, AddField, RunPython, RemoveField\)/,
      );
      assert.match(
        d.summary,
        /A rollback by plan \(restore-database auto\): the database restored from the pre-deploy backup, the writes made since carried over \(records\.0003_split_ward \(irreversible: .*\) cannot be undone without losing values\)\./,
      );
      await addRecord(i, `written-by-v11-${tag}`);
      sql(i, `INSERT INTO records_ward (name) VALUES ('ward-written-by-v11-${tag}')`);
      sql(
        i,
        `UPDATE records_patient SET ward_ref_id = (SELECT id FROM records_ward WHERE name = 'ward-written-by-v11-${tag}') WHERE name = 'written-by-v11-${tag}'`,
      );
      // Through v11 too: a patient of the set renamed (one in ward north, a value the split dropped),
      // another deleted.
      const renamed = sql(i, 'SELECT min(id) FROM records_patient');
      const gone = sql(i, "SELECT max(id) FROM records_patient WHERE name NOT LIKE 'written-by-%'");
      sql(i, `UPDATE records_patient SET name = 'renamed-by-v11-${tag}' WHERE id = ${renamed}`);
      sql(i, `DELETE FROM records_patient WHERE id = ${gone}`);
      const r = await run(i, { command: 'rollback' });
      ok(r);
      assert.equal(await servedVersion(i), 'v2');
      const chose = decision(r);
      assert.equal(chose?.[1], 'restore', r.stdout.slice(-3000));
      assert.match(
        chose![2]!,
        /records\.0003_split_ward \(irreversible.*cannot be undone without losing values/,
      );
      const t = i.database === 'sqlite' ? 'records_patient' : 'public\\.records_patient';
      assert.match(r.summary, new RegExp(`carried over: ${t} 1 inserted, 1 updated, 1 deleted`));
      assert.equal(count(i), before, 'one patient written, one deleted through v11');
      assert.equal(count(i, `name = 'written-by-v11-${tag}'`), 1, 'the row written through v11 is live');
      assert.equal(count(i, `id = ${gone}`), 0, 'the patient deleted through v11 stays deleted');
      assert.equal(
        sql(i, `SELECT name || ' ' || ward FROM records_patient WHERE id = ${renamed}`),
        `renamed-by-v11-${tag} north`,
        'the update is carried, and the ward the split dropped is back on that row',
      );
      assert.equal(count(i, "ward = 'north'"), north, 'the values the split dropped are back');
      // What could not be carried is listed on the host with its reason, not guessed.
      const report = readFileSync(join(i.projectDir, 'backups', manifestOf(r).id, 'carry-over.json'), 'utf8');
      const listed = (
        JSON.parse(report.trim().split('\n').pop()!) as { listed: { table: string; reason: string }[] }
      ).listed;
      const reasons = listed.map((l) => `${l.table.replace(/^public\./, '')}: ${l.reason}`);
      assert.ok(
        reasons.some((x) =>
          /^records_ward: the previous version has no such table \(\d+ rows not carried\)/.test(x),
        ),
        reasons.join('\n'),
      );
      assert.ok(
        reasons.some((x) => /^records_patient: inserted since, carried without ward_ref_id/.test(x)),
        reasons.join('\n'),
      );
      // The patients of the set that v11's migration pointed at a ward: counted, never dropped unsaid.
      assert.ok(
        reasons.some((x) =>
          /^records_patient: \d+ rows of the set hold values in columns only the release has \(ward_ref_id\)/.test(
            x,
          ),
        ),
        reasons.join('\n'),
      );
      await addRecord(i, `written-by-v2-after-v11-${tag}`);
      assert.equal(count(i, `name = 'written-by-v2-after-v11-${tag}'`), 1, 'v2 writes again');
    });
  }

  for (const i of [a, b]) {
    test(`${i.database}: automatic rollbacks after a smoke test wrote through the release and failed it, per class`, async () => {
      const at = await atV2(i);
      const north = at.north;
      let rows = at.rows;
      const classes = [
        ['v6', 'compatible', 'keep'],
        ['v8', 'breaks-old-writes', 'migrate-back'],
        ['v11', 'irreversible', 'restore'],
      ] as const;
      // SQLite's v8 is in rollback.test.ts.
      for (const [version, cls, path] of classes.filter(([v]) => i === b || v !== 'v8')) {
        const d = await run(i, { command: 'deploy', version, 'smoke-commands': writeThenFail(version) });
        assert.notEqual(d.code, 0, `${version}: the smoke test failed the deploy`);
        assert.match(d.summary, new RegExp(`### Migrations \\(${cls}\\)`));
        assert.equal(await servedVersion(i), 'v2', `${version}: rolled back automatically`);
        assert.equal(d.outputs.health, 'healthy', d.stdout.slice(-3000));
        assert.equal(decision(d)?.[1], path, `${version}: ${d.stdout.slice(-3000)}`);
        rows += 1;
        assert.equal(
          count(i, `name = 'smoke-${version}-${tag}'`),
          1,
          `${version}: the row written through it is live`,
        );
        assert.equal(count(i), rows, `${version}: no row lost, none doubled`);
        assert.equal(count(i, "ward = 'north'"), north, `${version}: v2's values are where they were`);
      }
      await addRecord(i, `written-by-v2-after-the-rollbacks-${tag}`);
      assert.equal(count(i), rows + 1, 'v2 writes again');
    });
  }

  test('postgresql: a compatible release (v6 adds a table) rolled back later: the database kept as it is, every record and value', async () => {
    // Fresh: the automatic rollbacks above kept v6's migration applied.
    const { rows: before, north } = await atV2(b, true);
    const d = await run(b, { command: 'deploy', version: 'v6' });
    ok(d);
    assert.match(d.summary, /### Migrations \(compatible\)/);
    assert.match(d.summary, /A rollback by plan \(restore-database auto\): the database kept as it is/);
    await addRecord(b, `written-by-v6-${tag}`);
    sql(b, "INSERT INTO records_auditentry (action) VALUES ('viewed')");
    const audits = Number(sql(b, 'SELECT count(*) FROM records_auditentry'));
    const r = await run(b, { command: 'rollback' });
    ok(r);
    assert.equal(await servedVersion(b), 'v2');
    assert.equal(decision(r)?.[1], 'keep', r.stdout.slice(-3000));
    assert.equal(count(b), before + 1);
    assert.equal(count(b, "ward = 'north'"), north);
    // v2 runs on v6's schema: the table v6 added stays, with the rows written to it.
    assert.equal(Number(sql(b, 'SELECT count(*) FROM records_auditentry')), audits);
    await addRecord(b, `written-by-v2-after-v6-${tag}`);
    assert.equal(count(b, `name = 'written-by-v2-after-v6-${tag}'`), 1);
    // Deployed again: nothing left to migrate, the records there all along.
    const again = await run(b, { command: 'deploy', version: 'v6' });
    ok(again);
    assert.match(again.summary, /No migrations to apply\./);
    assert.equal(Number(sql(b, 'SELECT count(*) FROM records_auditentry')), audits);
  });
});
