import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollback } from '../../src/operations/rollback.js';
import { appContainer, silentLog } from './fake-host.js';
import { sqliteHost, settingsFor } from './host-fixture.js';
import { validManifest } from './manifest-fixture.js';

/** The rollback operation against a scripted host. */

const settings = (over: Record<string, string> = {}) => settingsFor('rollback', over);
const opts = {
  newId: () => '20261124T120000Z-5a5a5a',
  now: () => new Date('2026-11-24T12:00:00Z'),
  toolVersion: '0.1.0',
};

test('the dry run of an emergency rollback prints the exact commands from the set’s own manifest', async () => {
  const target = validManifest({ created: '2026-11-20T08:00:00Z', reason: 'pre-deploy' });
  const host = sqliteHost([target]);
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [appContainer] : []);
  host.docker.volumeExists = async () => true;
  let stopped = false;
  host.docker.stopContainer = async () => void (stopped = true);
  const out = await rollback(
    host,
    settings({ 'dry-run': 'true', scope: 'full', 'backup-id': target.id }),
    silentLog(),
    opts,
  );
  assert.ok(out.dryRun);
  const dir = `/srv/eqmd-a/backups/${target.id}`;
  for (const fragment of [
    `backup-set rollback to backup set ${target.id} (pre-deploy`,
    // Every file of the set is checked, by its recorded checksum, before anything stops.
    `sha256sum --quiet --strict -c -' bash ${target.files
      .filter((f) => f.path !== 'compose.yml')
      .map((f) => `${f.sha256} ${f.path}`)
      .join(' ')}`,
    'stop eqmd (Docker API, container c0ffee)',
    'as set 20261124T120000Z-5a5a5a:',
    `cat ${dir}/env > "$tmp"`,
    `${dir}/volumes/eqmd-a_media_files.tar`,
    `database: sqlite restored from ${target.id}`,
    'always (this scope)',
    `docker tag ${target.image.backupTag} registry.local/eqmd:v1`,
    'up -d --no-deps eqmd',
  ])
    assert.ok(out.plan.includes(fragment), `plan lacks ${fragment}:\n${out.plan}`);
  assert.equal(stopped, false);
  for (const c of host.commands)
    assert.doesNotMatch(c.command, /mkdir|docker tag|mapfile|docker run/, c.command.slice(0, 80));
});

test('with nothing to roll back to, the refusal lists the sets an operator could name', async () => {
  // The running image's own pre-deploy set and a failed release's state: no emergency target.
  const runningId = `sha256:${'1'.repeat(64)}`;
  const running = validManifest({
    created: '2026-11-24T11:00:00Z',
    reason: 'pre-deploy',
    imageId: runningId,
  });
  const failed = validManifest({
    created: '2026-11-24T11:30:00Z',
    reason: 'failed-deploy',
    suffix: 'bbbbbb',
    imageId: `sha256:${'2'.repeat(64)}`,
  });
  const host = sqliteHost([running, failed]);
  const container = { ...appContainer, imageId: runningId };
  host.docker.inspectContainer = async () => container;
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [container] : []);
  await assert.rejects(rollback(host, settings(), silentLog(), opts), (err: Error) => {
    assert.match(err.message, /nothing to roll back to; nothing was changed\. To restore one of these/);
    assert.match(
      err.message,
      new RegExp(`${failed.id} \\(registry\\.local/eqmd:v1, failed-deploy, 30 min ago\\)`),
    );
    assert.match(
      err.message,
      new RegExp(`${running.id} \\(registry\\.local/eqmd:v1, pre-deploy, 60 min ago\\)`),
    );
    return true;
  });
});

test('a rollback migrates back with the image the container ran, not the one the env file names', async () => {
  // The env file already names the previous version (an interrupted rollback put it back first); the
  // container still runs the release, whose files alone can undo its migrations.
  const target = {
    ...validManifest({ created: '2026-11-20T08:00:00Z', reason: 'pre-deploy' }),
    migrations: {
      class: 'breaks-old-writes' as const,
      applied: { records: ['0001_initial'] },
      pending: [
        {
          app: 'records',
          name: '0002_patient_priority',
          class: 'breaks-old-writes' as const,
          operations: [{ op: 'AddField', class: 'breaks-old-writes' as const }],
        },
      ],
    },
  };
  const host = sqliteHost([target]);
  const release = { ...appContainer, image: 'registry.local/eqmd:v8', imageId: `sha256:${'8'.repeat(64)}` };
  host.docker.inspectContainer = async () => release;
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [release] : []);
  const out = await rollback(
    host,
    settings({ 'dry-run': 'true', scope: 'app', 'backup-id': target.id }),
    silentLog(),
    opts,
  );
  assert.ok(out.dryRun);
  const tag = 'eqmd-rollback/eqmd-a:20261124T120000Z-5a5a5a';
  assert.ok(
    out.plan.includes(`Migrate records:0001_initial back with registry.local/eqmd:v8 (as ${tag})\n`),
    out.plan,
  );
  const runs = out.plan.split('\n').filter((l) => l.includes('export EQMD_IMAGE='));
  assert.equal(runs.length, 2, 'the migrate-back and its check');
  for (const l of runs) assert.ok(l.includes(`export EQMD_IMAGE=${tag}`), l);
  assert.ok(!out.plan.includes('export EQMD_IMAGE=registry.local/eqmd:v1'));
});

test('a rollback looks at the host once: its snapshot refreshes only the container it stopped', async () => {
  const target = validManifest({ created: '2026-11-20T08:00:00Z', reason: 'pre-deploy' });
  const host = sqliteHost([target]);
  let running = true;
  let stoppedInspections = 0;
  // The container runs the set's image once it is up again, as compose recreates it from the retag.
  const now = () => ({ ...appContainer, running, imageId: target.image.id });
  host.docker.inspectContainer = async () => {
    if (!running) stoppedInspections++;
    return now();
  };
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [now()] : []);
  host.docker.stopContainer = async () => void (running = false);
  host.on(/up -d --no-deps eqmd/, () => ((running = true), {}));
  const out = await rollback(host, settings({ scope: 'app', 'backup-id': target.id }), silentLog(), opts);
  assert.ok(!out.dryRun);
  const probes = host.commands.filter((c) => /echo "hostname/.test(c.command));
  assert.equal(probes.length, 1, 'one probe: the snapshot after the stop does not probe again');
  // The snapshot was made, from the container as it is after the stop (inspected then, not remembered).
  assert.ok(out.snapshot, 'the pre-restore snapshot was made');
  assert.ok(stoppedInspections > 0, 'the stopped container was inspected again');
  assert.ok(host.ran(/docker tag/), 'the image was put back');
  assert.ok(out.healthy, 'verified: healthy, and running the set’s image');
  assert.ok(
    out.verify?.checks.some((c) => c.check === 'container runs registry.local/eqmd:v1' && c.ok),
    JSON.stringify(out.verify?.checks),
  );
});

test('a rollback whose restored container still runs another image is not called healthy', async () => {
  const target = validManifest({ created: '2026-11-20T08:00:00Z', reason: 'pre-deploy' });
  const host = sqliteHost([target]);
  // The container runs another image than the set's: as if compose had left the old one in place.
  const stale = { ...appContainer, imageId: `sha256:${'3'.repeat(64)}` };
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [stale] : []);
  host.docker.inspectContainer = async () => stale;
  const out = await rollback(host, settings({ scope: 'app', 'backup-id': target.id }), silentLog(), opts);
  assert.ok(!out.dryRun);
  assert.equal(out.healthy, false, 'the old container answering proves nothing');
  const row = out.verify?.checks.find((c) => c.check === 'container runs registry.local/eqmd:v1');
  assert.equal(row?.ok, false);
  assert.equal(row?.detail, `it runs image ${'3'.repeat(12)}, not ${'1'.repeat(12)}`);
});
