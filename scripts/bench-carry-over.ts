/**
 * `npm run bench` (second part): the carry-over of 10,100 changed rows (inserts, updates and deletes
 * across two related tables: wards and the patients that refer to them) beside the restore of the same
 * database, as the rollback runs them, on the local machine:
 *
 * - PostgreSQL (the host cluster, reached by database-url): the rollback's own steps, built by
 *   pgRestoreIntoNewStep and pgCarryOverStep, run by bash;
 * - SQLite: the restore step's work on the host side of its helper (the set's file copied to the
 *   temp name, SQLITE_VERIFY_PY over it, renamed) and CARRY_OVER_PY, by the machine's python3 (the
 *   step runs the same scripts in the previous release's image).
 *
 * The set: 200 wards and 20,000 or 200,000 patients. The release drops a patient column (destructive), then adds 100
 * wards and 5,000 patients, updates 3,000 patients and deletes 2,000. Not a test: it prints figures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCarryOver } from '../src/carry-over/read.js';
import { pgCarryOverStep } from '../src/carry-over/pg-step.js';
import { CARRIED_KEY } from '../src/carry-over/step.js';
import { CARRY_OVER_PY } from '../src/carry-over/script.js';
import { pgRestoreIntoNewStep } from '../src/restore/postgres.js';
import { SQLITE_VERIFY_PY } from '../src/restore/sqlite-verify.js';
import type { Step } from '../src/backup/steps.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHANGED = 100 + 5000 + 3000 + 2000;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const timed = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const progress = (what: string) => console.error(`bench: ${what}`);
const dir = mkdtempSync(join(tmpdir(), 'eqmd-bench-carry-'));

/** The set's schema and rows; `notes_old` is the column the release drops. */
const SET_SQL = (serial: string, patients: number) => `
CREATE TABLE records_ward (id ${serial} PRIMARY KEY, name varchar(50) NOT NULL UNIQUE);
CREATE TABLE records_patient (id ${serial} PRIMARY KEY, name varchar(200) NOT NULL, notes text NOT NULL,
  notes_old text NULL, ward_id integer NULL REFERENCES records_ward (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE django_migrations (id ${serial} PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL);
INSERT INTO django_migrations (app, name) VALUES ('records', '0001'), ('records', '0002');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO records_ward (name) SELECT 'ward-' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${patients})
INSERT INTO records_patient (name, notes, notes_old, ward_id)
SELECT 'patient-' || i, 'notes of ' || i, 'old notes ' || i, 1 + i % 200 FROM n;
`;
const RELEASE_SQL = `
ALTER TABLE records_patient DROP COLUMN notes_old;
INSERT INTO django_migrations (app, name) VALUES ('records', '0003');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO records_ward (name) SELECT 'new-ward-' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO records_patient (name, notes, ward_id) SELECT 'new-patient-' || i, 'written since', 200 + 1 + i % 100 FROM n;
UPDATE records_patient SET notes = 'updated since' WHERE id BETWEEN 1 AND 3000;
DELETE FROM records_patient WHERE id BETWEEN 10001 AND 12000;
`;

function counted(stdout: string): number {
  const read = readCarryOver(stdout);
  if (!read.ok) throw new Error(`carry-over report: ${read.why}`);
  return Object.values(read.tables).reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0);
}

function sqlite(patients: number): { restore: number; carry: number; carried: number } {
  const py = (args: string[], input?: string) => {
    const r = spawnSync('python3', args, { input, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const set = join(dir, 'set.sqlite3');
  const replaced = join(dir, 'replaced.sqlite3');
  for (const f of [set, replaced]) for (const x of ['', '-wal', '-shm']) rmSync(`${f}${x}`, { force: true });
  const script =
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.executescript(sys.argv[2]); c.close()';
  py(['-c', script, set, SET_SQL('integer', patients)]);
  copyFileSync(set, replaced);
  py(['-c', script, replaced, RELEASE_SQL]);
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const schema = py([
    '-c',
    `import hashlib,json,sqlite3,sys; print(hashlib.sha256(json.dumps(sqlite3.connect(sys.argv[1]).execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()).encode()).hexdigest())`,
    set,
  ]).trim();
  const expected = JSON.stringify({
    sha256: sha(set),
    tables: { records_ward: 200, records_patient: patients, django_migrations: 2 },
    schema,
  });
  const restores: number[] = [];
  const carries: number[] = [];
  let carried = 0;
  for (let i = 0; i < RUNS; i++) {
    const tmp = join(dir, '.eqmd-restore.sqlite3');
    const live = join(dir, 'live.sqlite3');
    restores.push(
      timed(() => {
        copyFileSync(set, tmp);
        py(['-', tmp, expected], SQLITE_VERIFY_PY);
        renameSync(tmp, live);
      }),
    );
    let out = '';
    carries.push(timed(() => (out = py(['-', live, replaced, sha(replaced)], CARRY_OVER_PY))));
    carried = counted(out);
    rmSync(live, { force: true });
  }
  return { restore: median(restores), carry: median(carries), carried };
}

function postgres(patients: number): { restore: number; carry: number; carried: number } {
  const url = {
    host: '127.0.0.1',
    port: 5432,
    user: 'eqmd',
    database: 'eqmd_bench_carry',
    password: 'eqmd-c-secret',
    sslmode: '',
  };
  const env = { ...process.env, PGHOST: url.host, PGUSER: url.user, PGPASSWORD: url.password };
  const psql = (db: string, sql: string) =>
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db], {
      input: sql,
      env,
      encoding: 'utf8',
    });
  const run = (step: Step) => {
    const r = spawnSync('bash', ['-c', `exec ${step.command}`], { input: step.stdin, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${step.title}: ${r.stderr}`);
    return r.stdout;
  };
  const drop = () =>
    psql(
      'postgres',
      `DROP DATABASE IF EXISTS eqmd_bench_carry; DROP DATABASE IF EXISTS eqmd_bench_carry_eqmd_restore;`,
    );
  drop();
  psql('postgres', 'CREATE DATABASE eqmd_bench_carry');
  psql('eqmd_bench_carry', `BEGIN; ${SET_SQL('serial', patients)} COMMIT;`);
  const dump = join(dir, 'database.dump');
  execFileSync('pg_dump', ['-Fc', '-d', 'eqmd_bench_carry', '-f', dump], { env });
  psql('eqmd_bench_carry', `BEGIN; ${RELEASE_SQL} COMMIT;`);
  const restores: number[] = [];
  const carries: number[] = [];
  let carried = 0;
  const tables = ['public.records_ward', 'public.records_patient', 'public.django_migrations'];
  for (let i = 0; i < RUNS; i++) {
    restores.push(timed(() => run(pgRestoreIntoNewStep({ via: 'database-url', url }, dump, tables))));
    let out = '';
    const report = join(dir, `carry-over-${i}.json`);
    carries.push(timed(() => (out = run(pgCarryOverStep({ via: 'database-url', url }, report)))));
    const line = out.split('\n').find((l) => l.startsWith(`${CARRIED_KEY}=`));
    if (!line) throw new Error(`the carry-over failed: ${out}`);
    carried = counted(line.slice(CARRIED_KEY.length + 1));
  }
  drop();
  return { restore: median(restores), carry: median(carries), carried };
}

const SIZES = [20_000, 200_000];
const results = SIZES.map((patients) => {
  progress(`carry-over of ${CHANGED} changed rows, ${patients} patients, SQLite (${RUNS} runs)`);
  const lite = sqlite(patients);
  progress(`carry-over of ${CHANGED} changed rows, ${patients} patients, PostgreSQL (${RUNS} runs)`);
  return { patients, lite, pg: postgres(patients) };
});
rmSync(dir, { recursive: true, force: true });

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const row = (name: string, r: { restore: number; carry: number; carried: number }) =>
  `| ${name} | ${s(r.restore)} | ${s(r.carry)} | ${r.carried} | ${Math.round(r.carried / (r.carry / 1000))} | ${(r.carry / r.restore).toFixed(2)} |`;
const table = [
  '',
  `| carry-over of ${CHANGED} rows changed since the set (200 wards + N patients) | restore of the same database | carry-over | rows carried | rows/s | carry-over / restore (target < 1) |`,
  '|---|---|---|---|---|---|',
  ...results.flatMap((r) => [
    row(`SQLite, ${r.patients.toLocaleString('en')} patients`, r.lite),
    row(`PostgreSQL, ${r.patients.toLocaleString('en')} patients`, r.pg),
  ]),
].join('\n');
console.log(table);
appendFileSync(process.env.BENCH_OUT ?? '/tmp/eqmd-bench.md', `${table}\n`);
