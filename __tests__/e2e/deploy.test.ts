import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import { parseManifest } from '../../src/manifest-read.js';
import {
  executed,
  connectionInputs,
  getJson,
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
import { resetUnlessServing } from '../faults/inject.js';

const h = testHost();
const { a, b } = h.instances;

/** Every patient row as the live database has it: the "every row back" check compares these. */
function rows(instance: Instance): string {
  if (instance.database === 'sqlite') {
    return sh(
      `sqlite3 /var/lib/docker/volumes/${instance.composeProject}_database/_data/db.sqlite3 'SELECT id, name, notes FROM records_patient ORDER BY id'`,
    );
  }
  return pgQuery(instance, 'SELECT id, name, notes FROM records_patient ORDER BY id');
}
const env = envFileOf;
const version = servedVersion;
const appContainer = (i: Instance) =>
  sh(
    `docker ps -q --filter label=com.docker.compose.project=${i.composeProject} --filter label=com.docker.compose.service=eqmd`,
  ).trim();
function report(run: ActionRun): {
  timings: { totalMs: number; detectMs: number; recoveryMs: number | null };
  notes: string[];
  restored: string[];
} {
  const dir = join(run.dir, 'eqmd-rollback');
  const sub = readdirSync(dir).find((d) => d.startsWith('deploy-'));
  assert.ok(sub, 'the deploy wrote its report');
  return JSON.parse(readFileSync(join(dir, sub, 'deploy-report.json'), 'utf8'));
}
const healthOf = (i: Instance) => ({
  'health-url': i.healthUrl.replace('127.0.0.1', 'localhost'),
  'health-timeout': '60',
  'upload-artifact': 'false',
});
const deployA = (version: string, over: Record<string, string> = {}) =>
  runAction({
    command: 'deploy',
    ...connectionInputs(h, 'v2'),
    'project-dir': a.projectDir,
    version,
    ...healthOf(a),
    ...over,
  });
const deployB = (version: string, over: Record<string, string> = {}) =>
  runAction({
    command: 'deploy',
    ...connectionInputs(h, 'v1'),
    'project-dir': b.projectDir,
    version,
    ...healthOf(b),
    ...over,
  });

describe('deploy with verification and automatic rollback', () => {
  test('a good version deploys: healthy, only the image line of the env file changed, data kept', async () => {
    resetInstance('a');
    const envBefore = env(a);
    const rowsBefore = rows(a);
    const r = await deployA('v2');
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.outputs.result, 'succeeded');
    assert.equal(r.outputs['deployed-image'], `${h.image}:v2`);
    assert.equal(r.outputs['previous-image'], `${h.image}:v1`);
    assert.equal(r.outputs['rolled-back'], 'false');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(await version(a), 'v2');
    assert.equal(env(a), envBefore.replace(`EQMD_IMAGE=${h.image}:v1`, `EQMD_IMAGE=${h.image}:v2`));
    assert.equal(rows(a), rowsBefore);
    const m = JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;
    assert.equal(m.reason, 'pre-deploy');
    assert.equal(m.image.envValue, `${h.image}:v1`);
    // Classified by v2's own Django before anything changed, and recorded with the state before it.
    assert.deepEqual(m.migrations, {
      class: 'compatible',
      applied: { records: ['0001_initial'] },
      pending: [
        {
          app: 'records',
          name: '0002_patient_ward',
          class: 'compatible',
          operations: [{ op: 'AddField', class: 'compatible' }],
        },
      ],
      // Django's way back, proven in v2's image before the switch.
      reverse: {
        proven: true,
        why: 'the way back undoes exactly records.0002_patient_ward, each reversible',
      },
    });
    assert.match(
      r.summary,
      /### Migrations \(compatible\)\n\n- records\.0002_patient_ward \(compatible: AddField\)/,
    );
    assert.match(r.summary, /deployed `127\.0\.0\.1:5000\/eqmd:v2`/);
    assert.match(r.summary, /database check \(db-check-command\) \| ✅/);
    // Listed beside the running container (compose v2 made it from this configuration).
    assert.match(r.stdout, /ran beside container [0-9a-f]{12} \(Docker API\)/);
  });

  test('a release whose migration destroys a column and answers 500 is rolled back: old image, env and every row', async () => {
    resetInstance('a');
    const envBefore = env(a);
    const rowsBefore = rows(a);
    assert.match(rowsBefore, /\|/);
    const r = await deployA('v3');
    assert.equal(r.code, 1, 'the step fails');
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs.result, 'rolled-back');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(r.outputs['deployed-image'], `${h.image}:v1`);
    assert.equal(await version(a), 'v1');
    assert.equal((await fetch(a.healthUrl)).status, 200);
    assert.equal(env(a), envBefore, 'the env file is byte-identical to before');
    assert.equal(rows(a), rowsBefore, 'every row is back, with its notes column');
    assert.match(r.stdout, /deploy of v3 failed/);
    assert.match(r.summary, /What was restored/);
    assert.match(r.summary, /SQLite \/app\/database\/db\.sqlite3 restored/);
    assert.match(r.summary, /3 server errors in a row/);
    // The failed state was saved first, as its own verified set.
    const failed = /saved first as backup set `([^`]+)`/.exec(r.summary)?.[1];
    assert.ok(failed, 'the summary names the failed-state set');
    // Read as list, rollback and retention read it: taken after the stop, seconds after its id.
    const read = parseManifest(
      failed,
      readFileSync(join(a.projectDir, 'backups', failed, 'manifest.json'), 'utf8'),
    );
    assert.ok(read.ok, read.ok ? '' : read.problem);
    const fm = read.manifest;
    assert.equal(fm.reason, 'failed-deploy');
    assert.equal(fm.verified, true);
    const pre = JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;
    assert.ok(fm.database.kind === 'sqlite' && pre.database.kind === 'sqlite');
    assert.notEqual(
      fm.database.schemaFingerprint,
      pre.database.schemaFingerprint,
      'v3 really changed the schema',
    );
    assert.match(
      sh(`ls -a /var/lib/docker/volumes/eqmd-a_database/_data/`),
      /\.eqmd-aside-.*\.sqlite3/,
      'the replaced file is kept aside',
    );
    const t = report(r).timings;
    assert.ok(t.recoveryMs !== null && t.recoveryMs < 30_000, `recovered in ${t.recoveryMs} ms`);
  });

  test('a version that exits at start is detected fast, well before the health timeout', async () => {
    // The test before ends on v1, healthy: kept as it is (reset only if not).
    await resetUnlessServing(a, 'v1');
    const r = await deployA('v4', { 'health-timeout': '120' });
    assert.equal(r.code, 1);
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(await version(a), 'v1');
    const rep = report(r);
    assert.ok(rep.timings.detectMs < 20_000, `decided after ${rep.timings.detectMs} ms with a 120 s timeout`);
    assert.match(r.summary, /restart-looping|exited/);
    assert.ok(
      rep.notes.some((n) => /schema is unchanged/.test(n)),
      'v4 never migrated, so the database is left alone',
    );
  });

  test('a failed pull and a failed pre-deploy command change nothing', async () => {
    // The test before ends on v1, healthy: kept as it is (reset only if not).
    await resetUnlessServing(a, 'v1');
    const before = {
      env: env(a),
      container: appContainer(a),
      rows: rows(a),
      sets: sh(`ls ${a.projectDir}/backups 2>/dev/null || true`),
    };
    const pull = await deployA('v404-does-not-exist');
    assert.equal(pull.code, 1);
    // Every exit reports: a refusal too has its output, a titled annotation and a summary.
    assert.equal(pull.outputs.result, 'refused');
    // The toolkit escapes the title's colon (%3A); the runner shows "eqmd-rollback: deploy refused".
    assert.match(pull.stdout, /^::error title=eqmd-rollback%3A deploy refused::Pull /m);
    assert.match(pull.summary, /## eqmd-rollback: deploy ⛔ refused[\s\S]*Nothing was changed on the host\./);
    assert.match(pull.stdout, /Pull 127\.0\.0\.1:5000\/eqmd:v404-does-not-exist failed; nothing was changed/);
    const pre = await deployA('v2', { 'pre-deploy-command': 'python manage.py check && exit 7' });
    assert.equal(pre.code, 1);
    assert.match(
      pre.stdout,
      /Run the pre-deploy command in 127\.0\.0\.1:5000\/eqmd:v2 failed; nothing was changed/,
    );
    assert.match(pre.stdout, /exited with code 7/);
    // A migration policy refuses on the release's own migration plan, after the pull, before the backup.
    const destructive = await deployA('v3', { 'migration-policy': 'refuse-destructive' });
    assert.equal(destructive.outputs.result, 'refused', destructive.stdout.slice(-2000));
    assert.match(
      destructive.stdout,
      /migration-policy refuse-destructive refuses 127\.0\.0\.1:5000\/eqmd:v3: records\.0003_remove_patient_notes \(destructive: RemoveField\); nothing was changed/,
    );
    const irreversible = await deployA('v7', { 'migration-policy': 'refuse-irreversible' });
    assert.equal(irreversible.outputs.result, 'refused', irreversible.stdout.slice(-2000));
    assert.match(
      irreversible.stdout,
      /refuses 127\.0\.0\.1:5000\/eqmd:v7: records\.0003_half_applied \(irreversible: CreateModel, RunPython\); nothing/,
    );
    const after = {
      env: env(a),
      container: appContainer(a),
      rows: rows(a),
      sets: sh(`ls ${a.projectDir}/backups 2>/dev/null || true`),
    };
    assert.deepEqual(after, before);
    // The service's configuration changed since its container was created (an operator's edit): the
    // listing cannot run beside that container, compose run lists the migrations of the new config.
    const compose = `${a.projectDir}/docker-compose.yml`;
    sh(`sed -i 's|^      SQLITE_PATH: |      EQMD_EDITED: "1"\\n      SQLITE_PATH: |' ${compose}`);
    assert.match(readFileSync(compose, 'utf8'), /EQMD_EDITED: "1"\n/, 'the edit is in place');
    const ok = await deployA('v2', { 'pre-deploy-command': 'python manage.py check' });
    assert.equal(ok.code, 0, 'a passing pre-deploy command lets the deploy go on');
    assert.doesNotMatch(ok.stdout, /ran beside container/);
    assert.ok(
      [...executed(ok.stdout)].some((c) => / run --rm --no-deps -T .*manage\.py shell -c /s.test(c)),
      'classified with compose run',
    );
    const okManifest = JSON.parse(readFileSync(ok.outputs.manifest!, 'utf8')) as Manifest;
    assert.equal(okManifest.migrations?.class, 'compatible', 'and classified all the same');
    resetInstance('a');
  });

  test('PostgreSQL over docker-compose v1: a destroying release is rolled back into a fresh database', async () => {
    resetInstance('b');
    const envBefore = env(b);
    const rowsBefore = rows(b);
    const r = await deployB('v3');
    assert.equal(r.code, 1);
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(await version(b), 'v1');
    assert.equal(env(b), envBefore);
    assert.equal(rows(b), rowsBefore);
    assert.match(r.summary, /PostgreSQL restored from .* into a fresh database and swapped in/);
    const pre = JSON.parse(readFileSync(r.outputs.manifest!, 'utf8')) as Manifest;
    assert.equal(pre.migrations?.class, 'destructive', 'classified on PostgreSQL through compose v1');
    // Beside the running container, in its network: the database service is reached by its name.
    assert.match(r.stdout, /ran beside container [0-9a-f]{12} \(Docker API\)/);
    assert.deepEqual(
      pre.migrations?.pending.map((x) => `${x.name} ${x.class}`),
      ['0002_patient_ward compatible', '0003_remove_patient_notes destructive'],
    );
    assert.match(
      pgQuery(b, 'SELECT datname FROM pg_database', 'postgres'),
      /_eqmd_aside_/,
      'the replaced database is kept aside',
    );
  });

  test('blue-green: a failing candidate never switches production, and its migration is undone', async () => {
    // The test before ends on v1, healthy: kept as it is (reset only if not).
    await resetUnlessServing(b, 'v1');
    const envBefore = env(b);
    const rowsBefore = rows(b);
    const r = await deployB('v3', { strategy: 'blue-green', 'staging-port': '8789' });
    assert.equal(r.code, 1);
    assert.match(r.summary, /production was never switched/);
    assert.equal(env(b), envBefore, 'production configuration never changed');
    assert.equal(await version(b), 'v1');
    assert.equal((await fetch(b.healthUrl)).status, 200);
    assert.equal(rows(b), rowsBefore, "the candidate's destructive migration was undone");
    assert.equal(
      sh(`docker ps -aq --filter name=eqmd-rollback-candidate`).trim(),
      '',
      'the candidate is removed',
    );
    assert.equal(r.outputs['rolled-back'], 'true');
  });

  test('blue-green: a good candidate is verified on the staging port, then production switches', async () => {
    // The test before ends on v1, healthy: kept as it is (reset only if not).
    await resetUnlessServing(b, 'v1');
    const r = await deployB('v2', { strategy: 'blue-green', 'staging-port': '8789' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(await version(b), 'v2');
    assert.match(r.stdout, /Verify the candidate on port 8789/);
    assert.ok(existsSync(r.outputs.manifest!));
  });

  test('verify alone reports every check and fails when one fails', async () => {
    resetInstance('a');
    const ok = await runAction({
      command: 'verify',
      ...connectionInputs(h),
      'project-dir': a.projectDir,
      ...healthOf(a),
    });
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal(ok.outputs.health, 'healthy');
    assert.equal(ok.outputs['deployed-image'], `${h.image}:v1`);
    const bad = await runAction({
      command: 'verify',
      ...connectionInputs(h),
      'project-dir': a.projectDir,
      ...healthOf(a),
      'static-files': 'manifest.json, missing.js',
      'smoke-commands': 'test -d /app\nexit 4',
    });
    assert.equal(bad.code, 1);
    assert.equal(bad.outputs.health, 'unhealthy');
    assert.match(
      bad.summary,
      /static files .* \| ❌ \| exit 1: missing or empty under \/app\/staticfiles: missing\.js/,
    );
    assert.match(bad.summary, /smoke command 1 of 2 \| ✅ \| passed/);
    assert.match(bad.summary, /smoke command 2 of 2 \| ❌ \| exit 4 \|/);
    assert.ok(!bad.summary.includes('test -d /app'), 'the commands themselves are not shown');
    const data = await getJson<{ count: number }>(`${a.baseUrl}/records/count/`);
    assert.equal(data.count, 50, 'verify changed nothing');
  });
});
