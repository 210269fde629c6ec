import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import {
  addRecord,
  connectionInputs,
  pgQuery,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from './harness.js';

/**
 * The rollback chosen by plan for the classes the other suites do not cover, on SQLite (Compose v2) and
 * on PostgreSQL (compose v1): a rename (destructive for the old code, undone by Django without losing a
 * value), a table split by a data migration without a reverse (irreversible), and a compatible release
 * on PostgreSQL. Each release is written to, then rolled back later by the emergency rollback.
 */
const h = testHost();
const { a, b } = h.instances;
const run = (i: Instance, inputs: Record<string, string>) =>
  runAction({
    ...connectionInputs(h, i === b ? 'v1' : 'v2'),
    'project-dir': i.projectDir,
    'health-url': i.healthUrl,
    'upload-artifact': 'false',
    ...inputs,
  });
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

/** v2 deployed on a pristine instance, its first three patients in ward north. */
async function atV2(i: Instance): Promise<number> {
  resetInstance(i === a ? 'a' : 'b');
  ok(await run(i, { command: 'deploy', version: 'v2' }));
  sql(
    i,
    "UPDATE records_patient SET ward = 'north' WHERE id IN (SELECT id FROM records_patient ORDER BY id LIMIT 3)",
  );
  return count(i);
}

describe('rollback by plan, per class, on SQLite and PostgreSQL', () => {
  for (const i of [a, b]) {
    test(`${i.database}: a rename (v10) rolled back later and automatically: migrated back, every row and every value kept`, async () => {
      const before = await atV2(i);
      const d = await run(i, { command: 'deploy', version: 'v10' });
      ok(d);
      assert.match(
        d.summary,
        /### Migrations \(destructive\)\n\n- records\.0003_rename_patient_ward_unit \(destructive: RenameField\)/,
      );
      await addRecord(i, 'written-by-v10');
      // What the app would do through v10: fill the renamed column of a new record, change an old one.
      sql(i, "UPDATE records_patient SET unit = 'south' WHERE name = 'written-by-v10'");
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
      assert.equal(sql(i, "SELECT ward FROM records_patient WHERE name = 'written-by-v10'"), 'south');
      assert.equal(sql(i, 'SELECT ward FROM records_patient ORDER BY id LIMIT 1'), 'east');
      assert.equal(count(i, "ward = 'north'"), 2, 'the values from before the release are where they were');
      await addRecord(i, 'written-by-v2-after-the-rollback');
      assert.equal(count(i, "name = 'written-by-v2-after-the-rollback'"), 1, 'v2 writes again');
      // Automatic: the deploy's own smoke test writes through v10, then fails it (on v10 only: the
      // rollback's verification runs it on v2 too).
      const write =
        "python -c \"import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/records/', data=b'name=written-by-smoke-test'))\"";
      const failed = await run(i, {
        command: 'deploy',
        version: 'v10',
        'smoke-commands': `[ "$APP_VERSION" != v10 ] || { ${write}; exit 3; }`,
      });
      assert.notEqual(failed.code, 0, 'the smoke test failed the deploy');
      assert.equal(await servedVersion(i), 'v2', 'rolled back automatically');
      assert.equal(failed.outputs.health, 'healthy', failed.stdout.slice(-3000));
      assert.equal(decision(failed)?.[1], 'migrate-back', failed.stdout.slice(-3000));
      assert.equal(count(i, "name = 'written-by-smoke-test'"), 1, 'the row written through v10 is live');
      assert.equal(count(i), before + 3);
    });

    test(`${i.database}: a table split without a reverse (v11) rolled back later: restored, rows carried over, the split-off values listed`, async () => {
      const before = await atV2(i);
      const d = await run(i, { command: 'deploy', version: 'v11' });
      ok(d);
      assert.match(
        d.summary,
        /### Migrations \(irreversible\)\n\n- records\.0003_split_ward \(irreversible: CreateModel, AddField, RunPython, RemoveField\)/,
      );
      await addRecord(i, 'written-by-v11');
      sql(i, "INSERT INTO records_ward (name) VALUES ('south')");
      sql(
        i,
        "UPDATE records_patient SET ward_ref_id = (SELECT id FROM records_ward WHERE name = 'south') WHERE name = 'written-by-v11'",
      );
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
      assert.match(r.summary, new RegExp(`carried over: ${t} 1 inserted`));
      assert.equal(count(i), before + 1);
      assert.equal(count(i, "name = 'written-by-v11'"), 1, 'the row written through v11 is live');
      assert.equal(count(i, "ward = 'north'"), 3, 'the values the split dropped are back');
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
      await addRecord(i, 'written-by-v2-after-the-rollback');
      assert.equal(count(i, "name = 'written-by-v2-after-the-rollback'"), 1, 'v2 writes again');
    });
  }

  test('postgresql: a compatible release (v6 adds a table) rolled back later: migrated back, every record kept', async () => {
    const before = await atV2(b);
    const d = await run(b, { command: 'deploy', version: 'v6' });
    ok(d);
    assert.match(d.summary, /### Migrations \(compatible\)/);
    await addRecord(b, 'written-by-v6');
    const r = await run(b, { command: 'rollback' });
    ok(r);
    assert.equal(await servedVersion(b), 'v2');
    assert.equal(decision(r)?.[1], 'migrate-back', r.stdout.slice(-3000));
    assert.equal(count(b), before + 1);
    assert.equal(count(b, "ward = 'north'"), 3);
    assert.equal(
      sql(b, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'records_auditentry'"),
      '0',
    );
    await addRecord(b, 'written-by-v2-after-the-rollback');
    assert.equal(count(b, "name = 'written-by-v2-after-the-rollback'"), 1);
  });
});
