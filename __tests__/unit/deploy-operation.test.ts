import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RefusedError } from '../../src/errors.js';
import type { DeployOptions, DeployResult } from '../../src/deploy/result.js';
import { deploy } from '../../src/operations/deploy.js';
import { restoreProofProblems } from '../../src/operations/restore-proof.js';
import { appContainer, appImage, type FakeHost, runClock, silentLog } from './fake-host.js';
import { sqliteHost, settingsFor } from './host-fixture.js';

/** The deploy operation against a scripted host: the order of its steps and each branch of its story. */

const settings = (over: Record<string, string> = {}) => settingsFor('deploy', { version: 'v2', ...over });

const opts = (): DeployOptions => ({
  ...runClock('2026-11-24T10:15:30Z'),
  toolVersion: '0.1.0',
});

/** A host whose app container is found by compose's labels, and whose stops are recorded. */
function deployHost(): FakeHost & { stopped: string[] } {
  const host = sqliteHost() as FakeHost & { stopped: string[] };
  host.stopped = [];
  host.docker.serviceContainers = async (_project, service) => (service === 'eqmd' ? [appContainer] : []);
  host.docker.stopContainer = async (id) => void host.stopped.push(id);
  return host;
}

const probes = (host: FakeHost) => host.commands.filter((c) => /echo "hostname/.test(c.command)).length;
const firstIndex = (host: FakeHost, re: RegExp) => host.commands.findIndex((c) => re.test(c.command));

async function run(host: FakeHost, over: Record<string, string> = {}): Promise<DeployResult> {
  const out = await deploy(host, settings(over), silentLog(), opts());
  assert.ok(!out.dryRun);
  return out;
}

test('a good deploy: one look at the host, backup before the switch, verified, nothing stopped', async () => {
  const host = deployHost();
  // When the app's container is looked up again: never before the switch (the first look found it).
  const lookups: number[] = [];
  const list = host.docker.serviceContainers;
  host.docker.serviceContainers = async (project, service) => {
    if (service === 'eqmd') lookups.push(host.commands.length);
    return list(project, service);
  };
  const r = await run(host);
  assert.equal(r.ok, true);
  assert.equal(r.deployedImage, 'registry.local/eqmd:v2');
  assert.equal(r.rolledBack, false);
  assert.equal(probes(host), 1, 'the backup plans from the deploy’s own look at the host');
  const order = [
    /compose .*config --hash eqmd/,
    /docker pull -q registry\.local\/eqmd:v2/,
    /mkdir .*\.tmp-/,
    /mv -T/,
    /mapfile -t lines/,
    /up -d --no-deps eqmd/,
  ];
  const at = order.map((re) => firstIndex(host, re));
  assert.ok(
    at.every((i) => i >= 0),
    `all steps ran: ${at}`,
  );
  assert.deepEqual(
    [...at].sort((a, b) => a - b),
    at,
    'in this order',
  );
  const rewrite = host.commands[at[4]!]!.command;
  assert.match(
    rewrite,
    / EQMD_IMAGE registry\.local\/eqmd:v2$/,
    'name and reference are positional parameters',
  );
  assert.deepEqual(host.stopped, []);
  assert.equal(lookups.filter((n) => n <= at[5]!).length, 0, `app container looked up at ${lookups}`);
});

test('compose left the previous container in place: the deploy is not called healthy, and it recovers', async () => {
  const host = deployHost();
  // The pulled release is another image; the container verified after the switch still runs v1's.
  host.docker.inspectImage = async (ref) =>
    ref === 'registry.local/eqmd:v2'
      ? { ...appImage, id: 'sha256:2222222222222222222222222222222222222222222222222222222222222222' }
      : appImage;
  const r = await run(host);
  assert.equal(r.ok, false);
  assert.equal(r.rolledBack, true);
  const row = r.verify?.checks.find((c) => c.check === 'container runs registry.local/eqmd:v2');
  assert.deepEqual(
    [row?.ok, row?.detail],
    [false, `it runs image ${'1'.repeat(12)}, not ${'2'.repeat(12)}`],
    JSON.stringify(r.verify?.checks),
  );
  assert.match(
    r.failure,
    /failed verification: container runs registry\.local\/eqmd:v2: it runs image 1{12},/,
  );
  // The recovery's own check passes: the restored container runs the pre-deploy set's image.
  assert.ok(r.rollbackVerify?.checks.some((c) => c.check.startsWith('container runs') && c.ok));
});

test('a broken deploy: decided on consecutive 5xx, failed state kept, env and image put back, app output kept on the host only', async () => {
  const host = deployHost();
  const body = 'Traceback: patient PATIENT-X-42 not found';
  host.http = [
    { status: 500, body, error: '' },
    { status: 500, body, error: '' },
    { status: 500, body, error: '' },
    { status: 200, body: 'ok', error: '' },
  ];
  const started = Date.now();
  const r = await run(host);
  assert.equal(r.ok, false);
  assert.equal(r.rolledBack, true);
  assert.equal(r.healthy, true);
  assert.equal(r.deployedImage, 'registry.local/eqmd:v1');
  assert.ok(Date.now() - started < 3000, 'three quick probes after the first 5xx, not three intervals');
  assert.deepEqual(host.stopped, [appContainer.id]);
  assert.equal(probes(host), 1, 'one look: the snapshot after the switch refreshes what the switch changed');
  assert.ok(r.failedState, 'the failed state was snapshotted');
  // As the switch left it: the env file named the release.
  assert.equal(r.failedState.manifest.image.envValue, 'registry.local/eqmd:v2');
  // The pre-deploy set is checked once, before the stop: the restore does not hash its database again.
  const checks = host.commands.filter((c) => /sha256sum --quiet --strict -c -/.test(c.command));
  assert.equal(checks.length, 1, 'one check of the set');
  assert.ok(
    host.commands.indexOf(checks[0]!) < firstIndex(host, /cat .*\/env > "\$tmp"/),
    'before any overwrite',
  );
  const restoreEnv = firstIndex(host, /cat .*\/env > "\$tmp"/);
  const retag = firstIndex(host, /docker tag eqmd-rollback\/eqmd-a:\S+ registry\.local\/eqmd:v1/);
  assert.ok(restoreEnv > 0 && retag > restoreEnv, 'env file, then the backed-up image under its reference');
  // The body is the app's: in no check, failure or note; kept in the failed-state set on the host.
  assert.ok(!JSON.stringify({ ...r, verify: { ...r.verify, appOutput: null } }).includes('PATIENT-X'));
  assert.match(r.failure, /3 server errors in a row \(HTTP 500\)$/);
  const kept = host.commands.find((c) => /app-output\.txt/.test(c.command))!;
  assert.ok(kept.stdin?.includes(body), 'the app output went to the host');
  assert.equal(r.appOutputOnHost, `${r.failedState!.dir}/app-output.txt`);
});

/** A refusal under policy allow: the backup ran beside the checks, and what it wrote is gone. */
function backupUndone(host: FakeHost): void {
  const made = firstIndex(host, /mkdir .*\.tmp-/);
  const removed = firstIndex(host, /rm -rf -- .*\.tmp-.*docker rmi eqmd-rollback\/eqmd-a:/s);
  assert.ok(made >= 0, 'the backup ran beside the checks');
  assert.ok(removed > made, `its temporary set and tag removed (${made}, ${removed})`);
  assert.equal(firstIndex(host, /mv -T/), -1, 'no set committed');
  assert.equal(firstIndex(host, /mapfile/), -1, 'no switch');
}

test('a refused pull changes nothing: the backup beside it is removed, the pull is what the run says', async () => {
  const host = deployHost().on(/docker pull/, { code: 1, stderr: 'manifest unknown' });
  await assert.rejects(
    deploy(host, settings(), silentLog(), opts()),
    (err: unknown) => err instanceof RefusedError && /Pull .* failed; nothing was changed/.test(err.message),
  );
  backupUndone(host);
});

for (const [why, over] of [
  ['a refusing migration policy', { 'migration-policy': 'refuse-destructive' }],
  ["the operator's pre-deploy command (it may write)", { 'pre-deploy-command': 'true' }],
] as const)
  test(`with ${why}, the checks come before any backup: a refused pull writes nothing`, async () => {
    const host = deployHost().on(/docker pull/, { code: 1, stderr: 'manifest unknown' });
    await assert.rejects(
      deploy(host, settings(over), silentLog(), opts()),
      (err: unknown) =>
        err instanceof RefusedError && /Pull .* failed; nothing was changed/.test(err.message),
    );
    assert.equal(firstIndex(host, /mkdir .*\.tmp-/), -1, 'no backup');
    assert.equal(firstIndex(host, /mapfile/), -1, 'no switch');
  });

test('an invalid compose configuration refuses the deploy, even when the pull beside it succeeds', async () => {
  const host = deployHost().on(/config --hash/, { code: 15, stderr: 'services.eqmd: unknown key' });
  await assert.rejects(
    deploy(host, settings(), silentLog(), opts()),
    (err: unknown) =>
      err instanceof RefusedError &&
      /^Check that the compose configuration is valid failed; nothing was changed.*unknown key/s.test(
        err.message,
      ),
  );
  assert.notEqual(firstIndex(host, /docker pull/), -1, 'the pull ran beside the check');
  // The classification needs the check's configuration hash: it does not start.
  assert.equal(firstIndex(host, /manage\.py shell/), -1, 'not classified');
  backupUndone(host);
});

test('auto-rollback off: the failed release is left running, and the summary says where the backup is', async () => {
  const host = deployHost();
  host.http = [{ status: 502, body: 'bad gateway', error: '' }];
  const r = await run(host, { 'auto-rollback': 'false' });
  assert.equal(r.ok, false);
  assert.equal(r.rolledBack, false);
  assert.deepEqual(host.stopped, []);
  assert.match(
    r.notes.join('\n'),
    /auto-rollback is off: registry\.local\/eqmd:v2 is left running; backup set \S+ holds/,
  );
  assert.equal(r.appOutputOnHost, null, 'no set of this run to keep it in: it stays on the runner');
});

test('the dry run prints the exact commands: checks, the backup, the switch and the planned recovery', async () => {
  const host = deployHost();
  const out = await deploy(host, settings({ 'dry-run': 'true' }), silentLog(), opts());
  assert.ok(out.dryRun);
  const plan = out.plan;
  for (const fragment of [
    'docker pull -q registry.local/eqmd:v2',
    'Back up the running version (reason pre-deploy) as set 2026',
    'docker tag sha256:1111111111111111111111111111111111111111111111111111111111111111 eqmd-rollback/eqmd-a:2026',
    'mv -T',
    'mapfile -t lines',
    'up -d --no-deps eqmd',
    'If that verification fails: stop eqmd (Docker API, container c0ffee)',
    'cat /srv/eqmd-a/backups/2026',
    'restored from 2026',
    'only if its schema fingerprint no longer matches',
  ])
    assert.ok(plan.includes(fragment), `plan lacks ${fragment}:\n${plan}`);
  const id = /as set (\S+):/.exec(plan)![1]!;
  assert.match(
    plan,
    new RegExp(`docker tag eqmd-rollback/eqmd-a:${id} registry\\.local/eqmd:v1`),
    'the recovery retags this very set',
  );
  // Only reads ran: the probe, the SQLite check and the pull-less look; nothing that writes.
  for (const c of host.commands)
    assert.doesNotMatch(c.command, /mkdir|docker pull|mapfile|docker tag|mv -T/, c.command.slice(0, 80));
  assert.deepEqual(host.stopped, []);
  assert.equal(probes(host), 1, 'one look at the host for the whole plan');
});

test('the rollback path is measured while the manifest waits; without room the deploy is refused before the switch', async () => {
  const host = deployHost().on(/echo "db_free_kb=/, {
    stdout: 'backup_free_kb=1\ndb_free_kb=999999\nlive_bytes=4096\n',
  });
  await assert.rejects(
    deploy(host, settings(), silentLog(), opts()),
    (err: unknown) =>
      err instanceof RefusedError &&
      /could not restore the database: the backup dir has 0\.0 MiB free/.test(err.message),
  );
  const measured = firstIndex(host, /echo "db_free_kb=/);
  assert.ok(measured > 0 && measured < firstIndex(host, /manifest\.json\.part/), 'read before the manifest');
  assert.ok(measured > firstIndex(host, /sha256sum < "\$f"/), 'once every file of the set is written');
  assert.equal(firstIndex(host, /mapfile/), -1, 'no switch');
});

test('the proof counts what retention freed after its reading; what the role lacks is said too', () => {
  const tight = { backupFreeKb: 1024, dbFreeKb: 1 << 20, liveBytes: 4096 };
  const sqlite = { kind: 'sqlite' as const, privileges: [], space: tight };
  assert.match(restoreProofProblems(sqlite, 4096, 0, silentLog()), /^the backup dir has 1\.0 MiB free/);
  assert.equal(restoreProofProblems(sqlite, 4096, 1 << 20, silentLog()), '', 'a pruned 1 MiB set makes room');
  const pg = {
    kind: 'postgres' as const,
    privileges: ['role eqmd may not create databases (CREATEDB)'],
    space: null,
  };
  assert.equal(
    restoreProofProblems(pg, 4096, 0, silentLog()),
    'role eqmd may not create databases (CREATEDB)',
  );
  assert.equal(restoreProofProblems(null, 4096, 0, silentLog()), '', 'no database, nothing to prove');
});

test('a proof reading that fails while the set is still being written fails the deploy, before the switch', async () => {
  const host = deployHost().on(/echo "db_free_kb=/, { code: 1, stderr: 'df: cannot read' });
  // The manifest is written a few timer ticks later: the reading's failure comes first.
  const exec = host.exec.bind(host);
  host.exec = async (command, o) => {
    if (/manifest\.json\.part/.test(command)) await new Promise((r) => setTimeout(r, 50));
    return exec(command, o);
  };
  await assert.rejects(deploy(host, settings(), silentLog(), opts()), /Measure the room/);
  assert.equal(firstIndex(host, /mapfile/), -1, 'no switch');
});
