import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteCommandError } from '../../src/errors.js';
import type { Manifest } from '../../src/manifest.js';
import { backup, type PendingCleanup } from '../../src/operations/backup.js';
import { appContainer, silentLog } from './fake-host.js';
import { sqliteHost, settingsFor } from './host-fixture.js';
import { validManifest } from './manifest-fixture.js';

const ID = '20261124T101530Z-abcdef';
const SHA = 'a'.repeat(64);
const settings = (over: Record<string, string> = {}) => settingsFor('backup', over);

/** A valid manifest (the listing is validated) whose id must be the one given. */
const manifestOf = (id: string, project: string, created: string): Manifest => {
  const m = validManifest({ created, project, suffix: id.slice(-6) });
  assert.equal(m.id, id);
  return m;
};

const pgChecksums = {
  stdout: `file=10=${SHA}=compose.yml\nfile=4096=${SHA}=database.dump\nfile=20=${SHA}=env\n`,
};

const opts = (pending: (PendingCleanup | null)[] = []) => ({
  id: ID,
  reason: 'manual' as const,
  now: new Date('2026-11-24T10:15:30Z'),
  toolVersion: '0.1.0',
  onPending: (p: PendingCleanup | null) => pending.push(p),
});

test('a backup runs its steps in order and writes a verified manifest last', async () => {
  const host = sqliteHost();
  const pending: (PendingCleanup | null)[] = [];
  const out = await backup(host, settings(), silentLog(), opts(pending));
  assert.equal(out.dryRun, false);
  const order = [
    /hostname/,
    /mkdir .*\.tmp-/,
    /docker tag sha256:1111111111111111111111111111111111111111111111111111111111111111 eqmd-rollback\/eqmd-a:/,
    /report=/,
    /docker cp/,
    /sha256sum/,
    /mv -T/,
    /for d in/,
  ];
  let at = 0;
  for (const re of order) {
    const i = host.commands.findIndex((c, idx) => idx >= at && re.test(c.command));
    assert.ok(i >= 0, `expected a command matching ${re} after position ${at}`);
    at = i;
  }
  const finalize = host.commands.find((c) => /mv -T/.test(c.command))!;
  const manifest = JSON.parse(finalize.stdin!) as Manifest;
  assert.equal(manifest.id, ID);
  assert.equal(manifest.verified, true);
  assert.equal(manifest.project, 'eqmd-a');
  assert.deepEqual(manifest.database.kind === 'sqlite' && manifest.database.tables, { records_patient: 50 });
  assert.deepEqual(
    manifest.volumes.map((v) => v.name),
    ['eqmd-a_media_files'],
    'the SQLite volume is not archived raw',
  );
  assert.equal(manifest.run.runId, '42');
  assert.equal(pending.at(-1), null, 'nothing left to clean up after success');
  assert.ok(!host.ran(/rm -rf -- .*\.tmp-/), 'no cleanup after success');
});

test('dry run prints the plan and runs nothing that writes', async () => {
  const host = sqliteHost();
  const out = await backup(host, settings({ 'dry-run': 'true' }), silentLog(), opts());
  assert.ok(out.dryRun && out.plan.includes('docker tag') && out.plan.includes('mv -T'));
  assert.ok(
    !host.ran(/mkdir|docker tag|docker cp|docker create|mv -T|rm -rf/),
    host.commands.map((c) => c.command).join('\n---\n'),
  );
});

/** The checksum step's output for the SQLite set, with the database file's hash given. */
const sqliteChecksums = (dbSha: string) => ({
  stdout: `file=10=${SHA}=compose.yml\nfile=4096=${dbSha}=database.sqlite3\nfile=20=${SHA}=env\nfile=10240=${SHA}=volumes/eqmd-a_media_files.tar\n`,
});

test('a checksum mismatch between container and host fails the backup, cleans up, writes no manifest', async () => {
  // The host's hash of the copy is the checksum step's, the one the manifest would record.
  const host = sqliteHost().on(/sha256sum < "\$f"/, sqliteChecksums('b'.repeat(64)));
  await assert.rejects(
    backup(host, settings(), silentLog(), opts()),
    /verification failed: SQLite copy identical on the host/,
  );
  assert.ok(!host.ran(/mv -T/), 'the set must never be renamed into place');
  assert.ok(host.ran(/rm -rf -- .*\.tmp-20261124T101530Z-abcdef/), 'the temporary set is removed');
  assert.ok(
    host.ran(/docker rmi eqmd-rollback\/eqmd-a:20261124T101530Z-abcdef/),
    'the backup tag is removed',
  );
});

test('the SQLite copy is hashed once on the host: by the checksum step, whose hash the manifest records', async () => {
  const container = 'c'.repeat(64);
  const host = sqliteHost()
    .on(/report=/, {
      stdout: `report=${JSON.stringify({ integrity: 'ok', tables: { t: 1 }, schema: SHA, sha256: container, bytes: 4096 })}\n`,
    })
    .on(/sha256sum < "\$f"/, sqliteChecksums(container));
  const out = await backup(host, settings(), silentLog(), opts());
  assert.ok(!out.dryRun);
  const copy = host.commands.find((c) => /report=/.test(c.command))!;
  assert.doesNotMatch(copy.command, /sha256sum/, 'the copy step leaves the hashing to the checksum step');
  assert.equal(host.commands.filter((c) => /sha256sum < "\$f"/.test(c.command)).length, 1);
  assert.equal(out.manifest.files.find((f) => f.path === 'database.sqlite3')?.sha256, container);
  assert.ok(out.manifest.checks.find((c) => c.check === 'SQLite copy identical on the host')?.ok);
});

test('a failing remote step surfaces its title, exit code and stderr, and cleans up', async () => {
  const host = sqliteHost().on(/docker cp/, { code: 1, stderr: 'write error: No space left on device' });
  await assert.rejects(
    backup(host, settings(), silentLog(), opts()),
    (err: unknown) =>
      err instanceof RemoteCommandError &&
      err.code === 1 &&
      /No space left/.test(err.message) &&
      /Archive volume/.test(err.message),
  );
  assert.ok(host.ran(/rm -rf -- .*\.tmp-/));
  assert.ok(!host.ran(/mv -T/));
});

test('the image tag, the database copy and the volume archives run side by side; cleanup waits for all of them', async () => {
  const host = sqliteHost().on(/docker cp/, { code: 1, stderr: 'write error: No space left on device' });
  const events: string[] = [];
  const exec = host.exec.bind(host);
  host.exec = async (command, o) => {
    const kind = /report=/.test(command)
      ? 'db'
      : /docker cp/.test(command)
        ? 'volume'
        : /rm -rf -- .*\.tmp-/.test(command)
          ? 'cleanup'
          : null;
    if (kind) events.push(`start ${kind}`);
    // The database copy is the slow one: the archives must not wait for it, the cleanup must.
    if (kind === 'db') await new Promise((r) => setTimeout(r, 50));
    const r = await exec(command, o);
    if (kind) events.push(`end ${kind}`);
    return r;
  };
  await assert.rejects(backup(host, settings(), silentLog(), opts()), /Archive volume/);
  assert.ok(events.indexOf('start volume') < events.indexOf('end db'), events.join(', '));
  assert.ok(events.indexOf('end db') < events.indexOf('start cleanup'), events.join(', '));
  assert.ok(!host.ran(/mv -T/));
});

test('no database found is refused before anything is written', async () => {
  const host = sqliteHost();
  host.docker.fileExists = async () => false;
  await assert.rejects(backup(host, settings(), silentLog(), opts()), /no database found/);
  assert.ok(!host.ran(/mkdir/));
});

test('a stopped app container: the database file is looked for without starting anything', async () => {
  const host = sqliteHost();
  host.docker.inspectContainer = async () => ({ ...appContainer, running: false, status: 'exited' });
  const looked: string[] = [];
  host.docker.fileExists = async (id, path) => {
    looked.push(`${id}:${path}`);
    return true;
  };
  const out = await backup(host, settings(), silentLog(), opts());
  assert.ok(!out.dryRun && out.manifest.database.kind === 'sqlite');
  assert.deepEqual(looked, ['c0ffee:/app/database/db.sqlite3']);
  // The copy itself needs a helper mounting the volumes; the look before it does not.
  assert.equal(host.commands.filter((c) => /docker run/.test(c.command)).length, 1, 'one helper: the copy');
});

test("retention prunes only this project's oldest verified sets, after the new set is in place", async () => {
  const existing = [
    manifestOf('20261120T000000Z-000001', 'eqmd-a', '2026-11-20T00:00:00Z'),
    manifestOf('20261121T000000Z-000002', 'eqmd-a', '2026-11-21T00:00:00Z'),
    manifestOf('20261101T000000Z-000003', 'eqmd-b', '2026-11-01T00:00:00Z'),
    manifestOf(ID, 'eqmd-a', '2026-11-24T10:15:30Z'),
  ];
  const host = sqliteHost(existing);
  const out = await backup(host, settings({ 'keep-backups': '2' }), silentLog(), opts());
  assert.ok(!out.dryRun);
  assert.deepEqual(out.pruned, ['20261120T000000Z-000001']);
  const prune = host.commands.find((c) => /rm -rf -- \/srv\/eqmd-a\/backups\/2026/.test(c.command))!;
  assert.ok(prune.command.includes('20261120T000000Z-000001') && !prune.command.includes('000003'));
  assert.ok(host.commands.indexOf(prune) > host.commands.findIndex((c) => /mv -T/.test(c.command)));
});

test('postgres through the service: credentials come from the container env, never the command line', async () => {
  const pg = { ...appContainer, id: 'pg1', name: 'eqmd-b_postgres_1' };
  const host = sqliteHost();
  host.docker.serviceContainers = async (_p, service) => (service === 'postgres' ? [pg] : []);
  host.on(/pg_dump/, {
    stdout: `table=public.records_patient=50\ntable=public.django_migrations=20\nschema=${SHA}\n`,
  });
  host.on(/sha256sum < "\$f"/, pgChecksums);
  const out = await backup(host, settings({ volumes: 'none' }), silentLog(), opts());
  assert.ok(!out.dryRun);
  assert.equal(out.manifest.database.kind, 'postgres');
  assert.deepEqual(out.manifest.database.kind === 'postgres' && out.manifest.database.tables, {
    'public.records_patient': 50,
    'public.django_migrations': 20,
  });
  const dump = host.commands.find((c) => /pg_dump/.test(c.command))!;
  assert.match(dump.command, /POSTGRES_PASSWORD/);
  // The SQLite look may run beside the service lookup (one cheap exec), but a running postgres wins.
  assert.ok(!host.ran(/eqmd-rollback-[^ ]*\.sqlite3/), 'no SQLite copy');
});

test('database-url: the password goes on stdin only', async () => {
  const host = sqliteHost()
    .on(/pg_dump/, { stdout: `table=public.t=1\nschema=${SHA}\n` })
    .on(/sha256sum < "\$f"/, pgChecksums);
  await backup(
    host,
    settings({ 'database-url': 'postgres://eqmd:Sup3rSecret@127.0.0.1:5432/eqmd_c', volumes: 'none' }),
    silentLog(),
    opts(),
  );
  const dump = host.commands.find((c) => /pg_dump/.test(c.command))!;
  assert.equal(dump.stdin, 'Sup3rSecret\n');
  assert.ok(host.commands.every((c) => !c.command.includes('Sup3rSecret')));
});
