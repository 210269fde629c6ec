import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rollback } from '../../src/operations/rollback.js';
import { parseSettings } from '../../src/settings.js';
import { appContainer, silentLog } from './fake-host.js';
import { sqliteHost } from './host-fixture.js';
import { validManifest } from './manifest-fixture.js';

/** The rollback operation against a scripted host. */

const settings = (over: Record<string, string> = {}) => {
  const inputs: Record<string, string> = {
    command: 'rollback',
    host: 'h',
    username: 'deploy',
    password: 'pw',
    'insecure-ignore-host-key': 'true',
    'project-dir': '/srv/eqmd-a',
    ...over,
  };
  return parseSettings((n) => inputs[n] ?? '', { GITHUB_RUN_ID: '42', GITHUB_REPOSITORY: 'org/app' });
};
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
