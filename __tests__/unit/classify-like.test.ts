import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_HASH_LABEL, composeConfigStep, readConfigHash } from '../../src/deploy/config-check.js';
import type { DeployOptions } from '../../src/deploy/result.js';
import { serviceGiven, type ConfigPair } from '../../src/docker-run-like.js';
import type { MigrationFacts } from '../../src/migrations/classify.js';
import { MIGRATION_FACTS_PY } from '../../src/migrations/script.js';
import { migrationFactsLike } from '../../src/migrations/step.js';
import { deploy } from '../../src/operations/deploy.js';
import { appContainer, type FakeHost, runClock, silentLog } from './fake-host.js';
import { settingsFor, sqliteHost } from './host-fixture.js';

/** The classification beside the running container: when it runs, what it passes, and its fallback. */

const HASH = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

test('the configuration check validates the whole file and prints the service hash', () => {
  const step = composeConfigStep(
    {
      flavor: 'v2',
      projectDir: '/srv/eqmd-a',
      composeFile: 'docker-compose.yml',
      envFile: '.env',
      project: 'eqmd-a',
    },
    'eqmd',
  );
  assert.match(
    step.command,
    /\ncd \/srv\/eqmd-a && docker compose -f docker-compose\.yml -p eqmd-a config --hash eqmd'$/,
  );
});

test('the configuration hash is read like any data from the host: accept/reject table', () => {
  const accept: [string, string][] = [
    [`eqmd ${HASH}\n`, HASH],
    [`eqmd ${HASH}`, HASH],
    [`\neqmd ${HASH}\n\n`, HASH],
  ];
  for (const [out, want] of accept) assert.equal(readConfigHash(out, 'eqmd'), want, JSON.stringify(out));
  const reject = [
    '',
    `web ${HASH}\n`, // another service's
    `eqmd ${HASH.slice(1)}\n`, // too short
    `eqmd ${HASH}0\n`, // too long
    `eqmd ${HASH.toUpperCase()}\n`,
    `eqmd ${HASH}\neqmd ${OTHER}\n`, // two lines: not one answer
    `eqmd  ${HASH}\n`,
    `eqmd ${HASH} extra\n`,
    `eqmd\n`,
  ];
  for (const out of reject) assert.equal(readConfigHash(out, 'eqmd'), '', JSON.stringify(out));
});

test('what the service gave the container, without what its image set: accept/reject table', () => {
  const image = { Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'], User: 'app', WorkingDir: '/app' };
  const rows: [ConfigPair['container'], ReturnType<typeof serviceGiven>][] = [
    // Only the image's: nothing of the service's (the new image sets its own).
    [{ Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'], User: 'app', WorkingDir: '/app' }, { env: [] }],
    // The service's variables, with values the image does not have, kept in their order.
    [
      { Env: ['PATH=/usr/bin', 'SECRET_KEY=s', 'LANG=C.UTF-8', 'DATABASE_URL=x'] },
      { env: ['SECRET_KEY=s', 'DATABASE_URL=x'] },
    ],
    // A variable of the image that the service set to another value is the service's.
    [{ Env: ['PATH=/opt/venv/bin:/usr/bin'] }, { env: ['PATH=/opt/venv/bin:/usr/bin'] }],
    // User and working dir: the service's only when they differ from the image's.
    [
      { Env: [], User: 'root', WorkingDir: '/srv' },
      { env: [], user: 'root', workingDir: '/srv' },
    ],
    [{ Env: null, User: '', WorkingDir: '' }, { env: [] }],
  ];
  for (const [container, want] of rows)
    assert.deepEqual(serviceGiven({ container, image }), want, JSON.stringify(container));
  // No image config (it is gone): all the container has is taken as the service's.
  assert.deepEqual(serviceGiven({ container: { Env: ['A=1'], User: 'u' }, image: undefined }), {
    env: ['A=1'],
    user: 'u',
  });
});

const labelled = { ...appContainer, labels: { ...appContainer.labels, [CONFIG_HASH_LABEL]: HASH } };

test('planned beside a running container that compose labelled with a hash, never otherwise', () => {
  const like = migrationFactsLike(labelled, 'eqmd', 'registry.local/eqmd:v2', '/srv/eqmd-a');
  assert.deepEqual(like, {
    container: 'c0ffee',
    service: 'eqmd',
    configHash: HASH,
    spec: {
      image: 'registry.local/eqmd:v2',
      entrypoint: ['python3'],
      cmd: ['manage.py', 'shell', '-c', MIGRATION_FACTS_PY],
      labels: { 'eqmd-rollback.project-dir': '/srv/eqmd-a' },
    },
  });
  const none = [
    null,
    { ...labelled, running: false },
    appContainer, // no hash label
    { ...labelled, labels: { [CONFIG_HASH_LABEL]: 'not-a-hash' } },
  ];
  for (const c of none)
    assert.equal(migrationFactsLike(c, 'eqmd', 'r:v2', '/p'), null, JSON.stringify(c?.labels));
});

const facts: MigrationFacts = {
  vendor: 'sqlite',
  applied: { records: ['0001_initial'] },
  unknown: [],
  plan: [
    {
      app: 'records',
      name: '0002_patient_ward',
      operations: [{ op: 'AddField', reversible: true, null: true }],
    },
  ],
  back: [{ app: 'records', name: '0002_patient_ward', reversible: true }],
};
const listing = `eqmd-migrations=${JSON.stringify(facts)}\n`;

const opts = (): DeployOptions => ({ ...runClock('2026-11-24T10:15:30Z'), toolVersion: '0.1.0' });

/** A host whose service container carries compose's hash, and whose check prints `printed`. */
function hostWith(
  printed: string,
  beside: { code?: number; stdout?: string } = { stdout: listing },
): FakeHost {
  const host = sqliteHost();
  host.docker.serviceContainers = async (_p, service) => (service === 'eqmd' ? [labelled] : []);
  host.docker.inspectContainer = async () => labelled;
  host.on(/config --hash eqmd/, { stdout: `eqmd ${printed}\n` });
  host.on(/compose.* run .*manage\.py shell/, { stdout: listing });
  host.on(/^docker-api run-like/, beside);
  return host;
}
const besideRuns = (h: FakeHost) =>
  h.commands.filter((c) =>
    /^docker-api run-like c0ffee registry\.local\/eqmd:v2 python3 manage\.py shell -c /.test(c.command),
  ).length;
const composeRuns = (h: FakeHost) =>
  h.commands.filter((c) => /compose.* run .*manage\.py shell/.test(c.command)).length;

async function classified(host: FakeHost) {
  const log = silentLog();
  const r = await deploy(host, settingsFor('deploy', { version: 'v2' }), log, opts());
  assert.ok(!r.dryRun && r.ok);
  assert.deepEqual(
    r.migrations?.pending.map((m) => m.name),
    ['0002_patient_ward'],
    'classified',
  );
  return log.lines;
}

test('the configuration is unchanged: classified beside the running container, no compose run', async () => {
  const host = hostWith(HASH);
  const lines = await classified(host);
  assert.equal(besideRuns(host), 1);
  assert.equal(composeRuns(host), 0);
  assert.ok(
    lines.some((l) => /ran beside container c0ffee \(Docker API\)/.test(l)),
    lines.join('\n'),
  );
});

test('the configuration changed since the container was created: compose run, as before', async () => {
  const host = hostWith(OTHER);
  await classified(host);
  assert.equal(besideRuns(host), 0);
  assert.equal(composeRuns(host), 1);
});

test('beside the container it fails or prints no listing: compose run decides, its output unsaid', async () => {
  for (const [beside, said] of [
    [{ code: 1, stdout: 'Traceback: secret app detail' }, /exited with code 1; with compose run instead/],
    [{ stdout: 'no listing here' }, /printed no listing; with compose run instead/],
  ] as const) {
    const host = hostWith(HASH, beside);
    const lines = await classified(host);
    assert.equal(besideRuns(host), 1);
    assert.equal(composeRuns(host), 1);
    assert.ok(
      lines.some((l) => said.test(l)),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => /secret app detail/.test(l)));
  }
});

test('the engine refuses the run (an API error): compose run decides', async () => {
  const host = hostWith(HASH);
  host.docker.runLike = async () => {
    throw new Error('(HTTP code 404) no such image');
  };
  const lines = await classified(host);
  assert.equal(composeRuns(host), 1);
  assert.ok(
    lines.some((l) => /could not run \(\(HTTP code 404\) no such image\)/.test(l)),
    lines.join('\n'),
  );
});

test('the dry run says where the listing runs, and on what condition', async () => {
  const host = hostWith(HASH);
  const out = await deploy(
    host,
    settingsFor('deploy', { version: 'v2', 'dry-run': 'true' }),
    silentLog(),
    opts(),
  );
  assert.ok(out.dryRun);
  assert.match(
    out.plan,
    /The listing of the migrations runs beside container c0ffee through the Docker API if the configuration check prints its configuration hash \(abababababab…\)/,
  );
  assert.equal(besideRuns(host), 0, 'the dry run runs nothing');
});
