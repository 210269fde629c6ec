import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startLoad, type LoadReport } from '../../testhost/load.js';
import {
  connectionInputs,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
} from './harness.js';

// Instance d runs examples/zero-downtime as shipped: EquipeMed (SQLite) behind HAProxy. Each test
// drives the action under a small load (20 keep-alive clients of GETs and POSTs) and checks what a
// user of the clinic would see: no failed request, every acknowledged write stored.
const h = testHost();
const d = h.instances.d;
/** Every write acknowledged so far in this file: none may be missing at the end. */
const ackedSoFar: string[] = [];

const inputs = (over: Record<string, string>) => ({
  ...connectionInputs(h, 'v2'),
  'project-dir': d.projectDir,
  'health-url': d.healthUrl,
  'upload-artifact': 'false',
  strategy: 'zero-downtime',
  ...over,
});

async function underLoad(
  over: Record<string, string>,
  tag: string,
): Promise<{ run: ActionRun; load: LoadReport }> {
  const load = startLoad(d.baseUrl, 20, tag);
  await new Promise((r) => setTimeout(r, 500));
  const run = await runAction(inputs(over));
  await new Promise((r) => setTimeout(r, 300));
  return { run, load: await load.stop() };
}

const containers = (service: string, extra = '') =>
  sh(
    `docker ps -a --format '{{.Names}}' --filter label=com.docker.compose.project=${d.composeProject} --filter label=com.docker.compose.service=${service} ${extra}`,
  )
    .trim()
    .split('\n')
    .filter(Boolean);

/** The names of this load's rows as the live database has them. */
function storedNames(tag: string): Set<string> {
  const id = sh(
    `docker ps -q --filter label=com.docker.compose.project=${d.composeProject} --filter label=com.docker.compose.service=eqmd --filter label=com.docker.compose.oneoff=False`,
  ).trim();
  const out = sh(
    `docker exec ${id} sqlite3 /app/database/db.sqlite3 "SELECT name FROM records_patient WHERE name LIKE '${tag}-%'"`,
  );
  return new Set(out.split('\n').filter(Boolean));
}

function assertNoRequestLost(load: LoadReport, tag: string, why: string): void {
  assert.ok(load.sent >= 500, `the load ran (${load.sent} requests)`);
  assert.equal(load.failed, 0, `no request failed ${why}: ${load.failures.join('; ')}`);
  assert.deepEqual(load.unknownWrites, []);
  const stored = storedNames(tag);
  assert.ok(load.acked.length > 0, 'writes were acknowledged');
  const missing = load.acked.filter((n) => !stored.has(n));
  assert.deepEqual(
    missing.slice(0, 5),
    [],
    `every acknowledged write is stored (${missing.length} of ${load.acked.length} missing)`,
  );
  const refusedButStored = load.refusedWrites.filter((n) => stored.has(n));
  assert.deepEqual(refusedButStored, [], 'a write refused with 503 never reached the database');
  ackedSoFar.push(...load.acked);
}

const outputOf = (run: ActionRun) =>
  `${run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask'))
    .join('\n')
    .slice(-4000)}\n${run.stderr.slice(-1000)}`;

describe(
  'strategy zero-downtime (instance d: HAProxy in front, examples/zero-downtime)',
  { concurrency: false },
  () => {
    test('a good release with compatible migrations switches beside the running version: 0 failed requests, the candidate removed', async () => {
      resetInstance('d');
      const { run, load } = await underLoad({ command: 'deploy', version: 'v2' }, 'good');
      assert.equal(run.code, 0, outputOf(run));
      assertNoRequestLost(load, 'good', 'during the switch');
      assert.deepEqual(load.versions, ['v1', 'v2'], 'users went from v1 to v2');
      assert.equal(await servedVersion(d), 'v2');
      assert.match(run.summary, /Switch: the new version was verified beside the running one/);
      assert.deepEqual(
        containers('eqmd', '--filter label=com.docker.compose.oneoff=True'),
        [],
        'the candidate was removed',
      );
      assert.equal(containers('eqmd').length, 1, 'one app container: the old one was stopped and removed');
    });

    test('the dry run prints the switch through the proxy, both ways, and changes nothing', async () => {
      const before = sh(`docker ps -q --filter label=com.docker.compose.project=${d.composeProject} | sort`);
      const run = await runAction(inputs({ command: 'deploy', version: 'v5', 'dry-run': 'true' }));
      assert.equal(run.code, 0, outputOf(run));
      assert.match(run.stdout, /Switch through the HAProxy in \S+ \(strategy zero-downtime\)/);
      assert.match(run.stdout, /beside the running version/);
      assert.match(run.stdout, /with requests held/);
      assert.match(run.stdout, /set server app\/service state drain/);
      assert.equal(
        sh(`docker ps -q --filter label=com.docker.compose.project=${d.composeProject} | sort`),
        before,
      );
      assert.equal(await servedVersion(d), 'v2');
    });

    test('a failed candidate never receives traffic: production keeps serving, 0 failed requests', async () => {
      // v4 exits at start (no migration): beside, verified directly, removed.
      const { run, load } = await underLoad(
        { command: 'deploy', version: 'v4', 'health-timeout': '20' },
        'cand',
      );
      assert.equal(run.code, 1, 'the deploy failed');
      assertNoRequestLost(load, 'cand', 'while the candidate failed');
      assert.deepEqual(load.versions, ['v2'], 'only the running version answered');
      assert.match(run.summary, /production was never switched|traffic never reached it/);
      assert.deepEqual(containers('eqmd', '--filter label=com.docker.compose.oneoff=True'), []);
      assert.equal(await servedVersion(d), 'v2');
    });

    test('a destructive broken release is switched with requests held and rolled back with its database restored: 0 failed requests, every acknowledged write kept', async () => {
      // v3 drops a column and answers 500: its migration is destructive, so no candidate; the service
      // leaves rotation, requests wait at the proxy through the switch, the failure and the restore.
      const { run, load } = await underLoad({ command: 'deploy', version: 'v3' }, 'held');
      assert.equal(run.code, 1, 'the deploy failed and was rolled back');
      assertNoRequestLost(load, 'held', 'through the held switch and the restore');
      assert.deepEqual(load.versions, ['v2'], 'the broken version never answered a user');
      assert.equal(await servedVersion(d), 'v2');
      assert.match(run.summary, /requests waited at the proxy/);
      const row = /\| (\d+) \| ([\d.]+) s \| (\d+) \|/.exec(run.summary);
      assert.ok(row, 'the summary counts the held requests');
      assert.ok(Number(row[1]) > 0, `requests were held (${row[1]})`);
      assert.equal(row[3], '0', 'none was refused');
    });

    test('a healthy destructive release is switched with requests held: 0 failed requests', async () => {
      // v9 drops v2's column `ward`: the running version may not share the database with it.
      const { run, load } = await underLoad({ command: 'deploy', version: 'v9' }, 'v9');
      assert.equal(run.code, 0, outputOf(run));
      assertNoRequestLost(load, 'v9', 'through the held switch');
      assert.deepEqual(load.versions, ['v2', 'v9']);
      assert.match(run.summary, /requests waited at the proxy/);
    });

    test('an emergency rollback restores the database with requests held: 0 failed requests, every write since carried over', async () => {
      const { run, load } = await underLoad({ command: 'rollback' }, 'back');
      assert.equal(run.code, 0, outputOf(run));
      assertNoRequestLost(load, 'back', 'through the restore');
      assert.equal(await servedVersion(d), 'v2');
      assert.match(run.summary, /### Traffic/);
      assert.match(run.summary, /carried over|carried/i, 'the restore carried the later writes over');
      const stored = new Set(['good', 'cand', 'held', 'v9', 'back'].flatMap((t) => [...storedNames(t)]));
      const missing = ackedSoFar.filter((n) => !stored.has(n));
      assert.deepEqual(
        missing.slice(0, 5),
        [],
        `every write acknowledged in this file is there (${missing.length} of ${ackedSoFar.length} missing)`,
      );
    });

    test('a rollback to a named version is a switch back beside the running one: 0 failed requests', async () => {
      // From v2 to v1: v1 applies no migration on v2's schema (its column is nullable), so the two
      // versions may share the database and v1 is verified beside v2 before it takes the traffic.
      const { run, load } = await underLoad({ command: 'rollback', version: 'v1' }, 'named');
      assert.equal(run.code, 0, outputOf(run));
      assertNoRequestLost(load, 'named', 'through the switch back');
      assert.deepEqual(load.versions, ['v2', 'v1']);
      assert.match(run.summary, /verified beside the running one/);
      assert.deepEqual(containers('eqmd', '--filter label=com.docker.compose.oneoff=True'), []);
    });
  },
);
