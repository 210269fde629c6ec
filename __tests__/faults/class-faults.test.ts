import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
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
} from '../e2e/harness.js';
import { fault } from './fault.js';
import { backupDirOf, healthStatus, instanceInputs, liveNames, setProblems, volumePath } from './inject.js';

const h = testHost();
const { a } = h.instances;
const ok = (r: ActionRun) => assert.equal(r.code, 0, r.stdout.slice(-3000));
const run = (i: Instance, inputs: Record<string, string>) => runAction({ ...instanceInputs(i), ...inputs });

/** Patient ids by name, in the live database. */
function idsOf(i: Instance, names: string[]): Map<string, number> {
  const sql = 'SELECT id, name FROM records_patient';
  const out =
    i.database === 'sqlite'
      ? sh(
          `sqlite3 -readonly -cmd '.timeout 5000' ${join(volumePath(`${i.composeProject}_database`), 'db.sqlite3')} '${sql}'`,
        )
      : pgQuery(i, sql);
  const all = new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('|'))
      .map(([id, name]) => [name!, Number(id)] as const),
  );
  return new Map(names.map((n) => [n, all.get(n) ?? -1]));
}

/** Keys listed by every carry-over report on the instance's host: table → keys. */
function listedKeys(i: Instance): Set<string> {
  const dir = backupDirOf(i);
  const keys = new Set<string>();
  for (const id of readdirSync(dir)) {
    const f = join(dir, id, 'carry-over.json');
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, 'utf8').trim().split('\n').pop()!) as {
      listed: { table: string; key: unknown }[];
    };
    for (const l of r.listed) keys.add(`${l.table.replace(/^public\./, '')}:${String(l.key)}`);
  }
  return keys;
}

/**
 * Rows written through the release (by the app, and one of them changed): after the rollback each is
 * live, or listed on the host with its reason. Returns how each row ended, for the report.
 */
async function writeThenCheck(i: Instance, tag: string, rollback: () => Promise<ActionRun>): Promise<string> {
  const before = liveNames(i);
  const names = [`${tag}-1`, `${tag}-2`, `${tag}-3`];
  for (const n of names) await addRecord(i, n);
  const ids = idsOf(i, names);
  assert.ok(
    [...ids.values()].every((id) => id > 0),
    'the release took the writes',
  );
  const r = await rollback();
  const live = new Set(liveNames(i));
  const listed = listedKeys(i);
  const lost = names.filter((n) => !live.has(n) && !listed.has(`records_patient:${ids.get(n)}`));
  assert.deepEqual(lost, [], `rows written through ${tag} neither live nor listed`);
  assert.deepEqual(
    before.filter((n) => !live.has(n)),
    [],
    'the rows from before the release are live',
  );
  assert.equal(await healthStatus(i), 200);
  assert.deepEqual(setProblems(i), []);
  const chose = /^database: (keep|migrate-back|restore):/m.exec(r.stdout)?.[1] ?? 'no database decision';
  return `${tag}: ${names.filter((n) => live.has(n)).length}/3 live (${chose})`;
}

describe('rows written after a deploy, per migration class', () => {
  fault(19, 'rows written through each class of release, then rollback later and automatic', async () => {
    resetInstance('a');
    ok(await run(a, { command: 'deploy', version: 'v2' }));
    const seen: string[] = [];
    // Later: an emergency rollback after the release served and took writes.
    for (const [version, cls] of [
      ['v6', 'compatible'],
      ['v8', 'breaks-old-writes'],
      ['v9', 'destructive'],
    ] as const) {
      const d = await run(a, { command: 'deploy', version });
      ok(d);
      assert.match(d.summary, new RegExp(`### Migrations \\(${cls}\\)`));
      seen.push(
        await writeThenCheck(a, `${version}-${cls}`, async () => {
          const r = await run(a, { command: 'rollback' });
          ok(r);
          assert.equal(await servedVersion(a), 'v2');
          return r;
        }),
      );
    }
    // Automatic: the deploy's own smoke test writes through the release, then fails it. On SQLite
    // here; rollback-classes.test.ts runs the same story per class on PostgreSQL too (a second
    // instance here cost CI a reset and a deploy for a story the suite already tells).
    {
      const i = a;
      const before = liveNames(i);
      const write =
        "python -c \"import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/records/', data=b'name=written-by-smoke-test'))\"";
      const d = await run(i, { command: 'deploy', version: 'v9', 'smoke-commands': `${write}\nexit 3` });
      assert.notEqual(d.code, 0, 'the smoke test failed the deploy');
      assert.equal(await servedVersion(i), 'v2', 'rolled back automatically');
      const live = liveNames(i);
      assert.ok(live.includes('written-by-smoke-test'), 'the row written through v9 is carried over');
      assert.deepEqual(
        before.filter((n) => !live.includes(n)),
        [],
      );
      assert.equal(await healthStatus(i), 200);
      seen.push(`v9 automatic (${i.database}): the smoke test's row live`);
    }
    return seen.join('; ');
  });
});
