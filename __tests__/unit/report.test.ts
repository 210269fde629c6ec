import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSettings } from '../../src/inputs/parse.js';
import type { DeployResult } from '../../src/deploy/result.js';
import type { RollbackDone } from '../../src/operations/rollback-result.js';
import type { VerifyReport } from '../../src/operations/verify.js';
import { annotationFor } from '../../src/report/annotation.js';
import {
  activeDeployment,
  deploymentTarget,
  deployStart,
  finishStatuses,
  rollbackCreate,
  runUrl,
  type DeploymentTarget,
} from '../../src/report/deployment-plan.js';
import { createdOfId, deployEvent, errorEvent, rollbackEvent, verifyEvent } from '../../src/report/event.js';
import { incidentNote } from '../../src/report/incident.js';
import { rollbackSummary, rollbackView } from '../../src/report/rollback-summary.js';
import { describeError, timeboxed } from '../../src/report/timebox.js';
import { shouldNotify, webhookMessage } from '../../src/report/webhook-message.js';

const IMG = 'ghcr.io/org/eqmd';
const failedVerify: VerifyReport = {
  healthy: false,
  checks: [
    {
      check: 'HTTP health http://localhost:8778/health/',
      ok: false,
      detail: '3 server errors in a row (HTTP 500)',
    },
    { check: 'container running, not restarting', ok: true, detail: 'running' },
    {
      check: 'database check: python manage.py check',
      ok: false,
      detail: 'not run: the service is not healthy',
    },
  ],
  decidedAfterMs: 4200,
  failFast: true,
  lastAnswer: 'HTTP 500',
  container: 'eqmd-a-eqmd-1 (running)',
  appOutput: {
    healthBody: 'unhealthy: PATIENT-MARKER',
    commands: [],
    logTail: 'Applying records.0003_remove_patient_notes... OK',
  },
};
const goodVerify: VerifyReport = {
  ...failedVerify,
  healthy: true,
  checks: [{ check: 'HTTP health http://localhost:8778/health/', ok: true, detail: 'HTTP 200 after 0.4 s' }],
  lastAnswer: 'HTTP 200',
  appOutput: { healthBody: '', commands: [], logTail: '' },
};
const set = (id: string, created: string) => ({
  manifest: { id, created } as DeployResult['preDeploy']['manifest'],
  dir: `/srv/eqmd/backups/${id}`,
});
const PRE = set('20261124T101530Z-aaaaaa', '2026-11-24T10:15:30.120Z');
const FAILED = set('20261124T101601Z-bbbbbb', '2026-11-24T10:16:01.500Z');
const DB_RESTORED = `PostgreSQL restored from ${PRE.manifest.id} into a fresh database and swapped in (2 tables verified)`;

const deployResult = (over: Partial<DeployResult>): DeployResult => ({
  dryRun: false,
  ok: false,
  previousImage: `${IMG}:v1`,
  deployedImage: `${IMG}:v1`,
  rolledBack: false,
  healthy: false,
  strategy: 'recreate',
  preDeploy: PRE,
  failedState: null,
  verify: null,
  rollbackVerify: null,
  migrations: null,
  parts: [],
  notes: [],
  failure: '',
  timings: { totalMs: 1, detectMs: 1, recoveryMs: null },
  appOutputOnHost: null,
  ...over,
});
const good = deployEvent(
  deployResult({ ok: true, healthy: true, deployedImage: `${IMG}:v2`, verify: goodVerify }),
  'v2',
);
const rolled = deployEvent(
  deployResult({
    rolledBack: true,
    healthy: true,
    failedState: FAILED,
    verify: failedVerify,
    rollbackVerify: goodVerify,
    parts: [
      { part: 'env-file', status: 'restored', file: '.env', from: PRE.manifest.id },
      { part: 'database', status: 'restored', account: DB_RESTORED },
      { part: 'image', status: 'restored', reference: `${IMG}:v1`, imageId: 'sha256:abc' },
    ],
    failure: `${IMG}:v3 failed verification: HTTP health http://localhost:8778/health/: 3 server errors in a row (HTTP 500)`,
  }),
  'v3',
);
const rollbackDone = (over: Partial<RollbackDone>): RollbackDone => ({
  dryRun: false,
  mode: 'emergency',
  undid: null,
  target: '20261120T080000Z-cccccc',
  scope: 'app',
  previousImage: `${IMG}:v2`,
  deployedImage: `${IMG}:v1`,
  rolledBack: true,
  healthy: true,
  snapshot: set('20261124T120000Z-dddddd', '2026-11-24T12:00:00.000Z'),
  parts: [
    { part: 'env-file', status: 'restored', file: '.env', from: '20261120T080000Z-cccccc' },
    { part: 'database', status: 'skipped', name: 'sqlite', why: 'the schema is unchanged' },
    { part: 'image', status: 'restored', reference: `${IMG}:v1`, imageId: 'abc' },
  ],
  notes: [],
  verify: goodVerify,
  failure: '',
  appOutputOnHost: null,
  ...over,
});
const manual = rollbackEvent(rollbackDone({}));

const T: DeploymentTarget = {
  owner: 'org',
  repo: 'equipemed',
  environment: 'production',
  environmentUrl: 'https://eqmd.example.org/',
  ref: '0123abcd',
  logUrl: 'https://github.com/org/equipemed/actions/runs/42',
};

test('events: outcome, failed checks (not the skipped ones), probe, restore points', () => {
  assert.equal(good.outcome, 'deployed');
  assert.equal(good.runningImage, `${IMG}:v2`);
  assert.equal(rolled.outcome, 'rolled-back');
  assert.deepEqual(
    rolled.failedChecks.map((c) => c.check),
    ['HTTP health http://localhost:8778/health/'],
  );
  assert.deepEqual(rolled.probe, { lastAnswer: 'HTTP 500', container: 'eqmd-a-eqmd-1 (running)' });
  assert.ok(!JSON.stringify(rolled).includes('PATIENT-MARKER'), 'the event carries no app output');
  assert.deepEqual(rolled.restoredFrom, { id: PRE.manifest.id, created: PRE.manifest.created });
  assert.equal(rolled.undoSet?.id, FAILED.manifest.id);
  assert.equal(deployEvent(deployResult({ failure: 'x' }), 'v3').outcome, 'failed');
  assert.equal(manual.outcome, 'restored');
  assert.equal(manual.requested, 'backup set 20261120T080000Z-cccccc');
  assert.deepEqual(manual.restoredFrom, { id: '20261120T080000Z-cccccc', created: '2026-11-20T08:00:00Z' });
  assert.equal(
    rollbackEvent(rollbackDone({ failure: 'the restored version failed verification' })).outcome,
    'rollback-failed',
  );
  assert.equal(rollbackEvent(rollbackDone({ mode: 'version', target: 'v1' })).restoredFrom, null);
  assert.equal(verifyEvent(`${IMG}:v2`, failedVerify).outcome, 'failed');
  assert.equal(verifyEvent(`${IMG}:v2`, goodVerify).outcome, 'verified');
  assert.equal(createdOfId('20261124T101530Z-3fa9c1'), '2026-11-24T10:15:30Z');
  assert.equal(createdOfId('v1'), '');
});

test('deployment plan: a deploy is created before anything changes, in_progress, then success', () => {
  const { create, status } = deployStart(T, 'v2');
  assert.deepEqual(create, {
    owner: 'org',
    repo: 'equipemed',
    ref: '0123abcd',
    environment: 'production',
    description: 'deploy v2',
    payload: { tool: 'eqmd-rollback', command: 'deploy', version: 'v2' },
    auto_merge: false,
    required_contexts: [],
    transient_environment: false,
    production_environment: true,
  });
  assert.equal(status, 'deploying v2');
  assert.equal(deployStart({ ...T, environment: 'staging' }, 'v2').create.production_environment, false);
  assert.deepEqual(finishStatuses(T, good, 7, 3), [
    {
      owner: 'org',
      repo: 'equipemed',
      deployment_id: 7,
      state: 'success',
      description: `${IMG}:v2 running and verified`,
      log_url: T.logUrl,
      environment_url: 'https://eqmd.example.org/',
      auto_inactive: false,
    },
    {
      owner: 'org',
      repo: 'equipemed',
      deployment_id: 3,
      state: 'inactive',
      description: `replaced by ${IMG}:v2 (deployment 7)`,
      log_url: T.logUrl,
      auto_inactive: false,
    },
  ]);
  assert.equal(finishStatuses(T, good, 7, null).length, 1, 'nothing to inactivate on a first deploy');
});

test('deployment plan: a rolled-back deploy ends in failure and the previous record stays active', () => {
  const statuses = finishStatuses(T, rolled, 7, 3);
  assert.equal(statuses.length, 1);
  assert.equal(statuses[0]!.state, 'failure');
  assert.match(
    statuses[0]!.description,
    /^rolled back to ghcr\.io\/org\/eqmd:v1 \(database restored\): HTTP health/,
  );
  assert.ok(statuses[0]!.description.length <= 140);
  assert.equal(finishStatuses(T, errorEvent('deploy', 'v2', 'pull failed'), 7, 3)[0]!.state, 'error');
});

test('deployment plan: a rollback records the restored version and makes the replaced one inactive', () => {
  const create = rollbackCreate(T, manual);
  assert.equal(create.description, `rollback to backup set 20261120T080000Z-cccccc: ${IMG}:v1`);
  assert.deepEqual(create.payload, {
    tool: 'eqmd-rollback',
    command: 'rollback',
    version: 'v1',
    image: `${IMG}:v1`,
    replaced: `${IMG}:v2`,
    restoredFrom: 'backup set 20261120T080000Z-cccccc',
    database: 'kept',
  });
  assert.deepEqual(
    finishStatuses(T, manual, 9, 7).map((s) => [s.deployment_id, s.state]),
    [
      [9, 'success'],
      [7, 'inactive'],
    ],
  );
  const unhealthy = rollbackEvent(
    rollbackDone({ healthy: false, failure: 'the restored version failed verification' }),
  );
  assert.deepEqual(
    finishStatuses(T, unhealthy, 9, 7).map((s) => [s.deployment_id, s.state]),
    [
      [9, 'failure'],
      [7, 'inactive'],
    ],
    'what it replaced no longer runs, even though the restored version is unhealthy',
  );
});

test('the active deployment is the newest whose latest status is success', () => {
  assert.equal(
    activeDeployment([
      { id: 9, latestState: 'failure' },
      { id: 8, latestState: 'inactive' },
      { id: 7, latestState: 'success' },
      { id: 6, latestState: 'success' },
    ]),
    7,
  );
  assert.equal(activeDeployment([{ id: 9, latestState: 'success' }], 9), null);
  assert.equal(activeDeployment([{ id: 9, latestState: null }]), null);
});

test('deployments only for deploy/rollback runs in GitHub Actions with an environment', () => {
  const inputs = {
    command: 'deploy',
    version: 'v2',
    host: 'h.example.org',
    username: 'deploy',
    'private-key': 'K',
    'host-fingerprint': 'SHA256:' + 'A'.repeat(43),
    'project-dir': '/srv/eqmd',
    'github-token': 'ghs_x',
    environment: 'production',
  } as Record<string, string>;
  const env = {
    GITHUB_REPOSITORY: 'org/equipemed',
    GITHUB_SHA: 'abc123',
    GITHUB_RUN_ID: '42',
    GITHUB_SERVER_URL: 'https://github.com',
  };
  const settings = (over: Record<string, string>, e: Record<string, string> = env) =>
    parseSettings((n) => ({ ...inputs, ...over })[n], e);
  assert.deepEqual(deploymentTarget(settings({})), {
    owner: 'org',
    repo: 'equipemed',
    environment: 'production',
    environmentUrl: '',
    ref: 'abc123',
    logUrl: 'https://github.com/org/equipemed/actions/runs/42',
  });
  assert.deepEqual(deploymentTarget(settings({ environment: '', 'github-token': '' })), {
    skip: 'no environment input: no deployment records',
  });
  assert.match(
    JSON.stringify(deploymentTarget(settings({ command: 'verify' }))),
    /verify records no deployment/,
  );
  assert.match(JSON.stringify(deploymentTarget(settings({ 'dry-run': 'true' }))), /dry run/);
  assert.match(JSON.stringify(deploymentTarget(settings({}, {}))), /GITHUB_REPOSITORY or GITHUB_SHA unset/);
  assert.equal(runUrl(settings({}).run), 'https://github.com/org/equipemed/actions/runs/42');
  assert.equal(runUrl(settings({}, {}).run), '');
});

test('annotations name the failed check and the version restored', () => {
  assert.deepEqual(annotationFor(rolled), {
    title: 'Deploy of v3 rolled back',
    message: `Failed check: HTTP health http://localhost:8778/health/: 3 server errors in a row (HTTP 500). Restored ${IMG}:v1 (healthy).`,
  });
  assert.deepEqual(annotationFor(manual), {
    title: 'Rolled back to backup set 20261120T080000Z-cccccc',
    message: `Restored ${IMG}:v1 in place of ${IMG}:v2 (healthy).`,
  });
  assert.deepEqual(annotationFor(verifyEvent(`${IMG}:v2`, failedVerify)), {
    title: 'Verification failed',
    message: `Failed check: HTTP health http://localhost:8778/health/: 3 server errors in a row (HTTP 500). Image ${IMG}:v2.`,
  });
  assert.equal(annotationFor(good), null);
  assert.equal(
    annotationFor(errorEvent('deploy', 'v2', 'x')),
    null,
    'the step failure is already an annotation',
  );
});

test('webhook: rollbacks and failures only; one text field with run link, versions, restored and artifact', () => {
  assert.equal(shouldNotify(good), false);
  assert.equal(shouldNotify(verifyEvent(`${IMG}:v2`, goodVerify)), false);
  for (const e of [rolled, manual, errorEvent('deploy', 'v2', 'x'), verifyEvent(`${IMG}:v2`, failedVerify)]) {
    assert.equal(shouldNotify(e), true, e.outcome);
  }
  const ctx = {
    repository: 'org/equipemed',
    environment: 'production',
    runUrl: T.logUrl,
    artifact: { name: 'eqmd-deploy-x', url: `${T.logUrl}/artifacts/5` },
    manifestPath: '/tmp/m.json',
  };
  const m = webhookMessage(rolled, ctx);
  assert.equal(
    m.text,
    [
      `[org/equipemed / production] Deploy of v3 FAILED and was rolled back to ${IMG}:v1`,
      'Failed: HTTP health http://localhost:8778/health/: 3 server errors in a row (HTTP 500)',
      `Versions: tried v3, was ${IMG}:v1, now ${IMG}:v1 (healthy)`,
      `Restored: env file .env from ${PRE.manifest.id}; ${DB_RESTORED}; image ${IMG}:v1 (abc) from its backup tag`,
      `Manifest artifact: eqmd-deploy-x ${T.logUrl}/artifacts/5`,
      `Run: ${T.logUrl}`,
    ].join('\n'),
  );
  assert.equal(m.eqmd.outcome, 'rolled-back');
  assert.equal(m.eqmd.artifact, `${T.logUrl}/artifacts/5`);
  assert.match(
    webhookMessage(manual, { ...ctx, artifact: null }).text,
    /^\[org\/equipemed \/ production\] Rolled back to backup set 20261120T080000Z-cccccc\n.*\nRestored: .*\nManifest artifact: not uploaded; on the runner at \/tmp\/m\.json\n/s,
  );
  assert.match(
    webhookMessage(errorEvent('deploy', 'v2', 'pull failed'), ctx).text,
    /deploy of v2 stopped with an error\nFailed: pull failed/,
  );
});

test('incident note: what failed, probe, restored, data-loss window and how to undo', () => {
  const ctx = {
    at: '2026-11-24T10:16:20.000Z',
    runUrl: T.logUrl,
    actor: 'alice',
    repository: 'org/equipemed',
    environment: 'production',
    projectDir: '/srv/eqmd',
    artifactName: 'eqmd-deploy-x',
  };
  const kept = {
    keptAt: [
      { path: `${FAILED.dir}/app-output.txt`, on: 'host' as const },
      { path: '/tmp/r/app-output.txt', on: 'runner' as const },
    ],
    published: '',
  };
  const note = incidentNote({ ...rolled, appOutput: kept }, ctx);
  for (const fragment of [
    '# Incident: Deploy of v3 failed and was rolled back automatically',
    `- Run: ${T.logUrl}`,
    '- Who: alice',
    '| HTTP health http://localhost:8778/health/ | 3 server errors in a row (HTTP 500) |',
    'Last probe answer: HTTP 500. Container: eqmd-a-eqmd-1 (running).',
    `is not published: it is kept in \`${FAILED.dir}/app-output.txt\` on the host and \`/tmp/r/app-output.txt\` on the runner`,
    `- ${DB_RESTORED}`,
    'Verification of the restored version: passed.',
    `Writes made between ${PRE.manifest.created} (backup set \`${PRE.manifest.id}\`) and ${FAILED.manifest.created}`,
    `the snapshot \`${FAILED.manifest.id}\` (\`${FAILED.dir}\`) holds the data`,
    `\`command: rollback\`, \`backup-id: ${FAILED.manifest.id}\`, \`scope: full\``,
    'artifact `eqmd-deploy-x`',
  ]) {
    assert.ok(note.includes(fragment), `missing: ${fragment}\n---\n${note}`);
  }
  assert.ok(!note.includes('database check'), 'checks skipped after the failure are not blamed');
  assert.ok(
    !note.includes('Applying records') && !note.includes('PATIENT-MARKER'),
    'no app output by default',
  );
  const published = incidentNote(
    { ...rolled, appOutput: { ...kept, published: 'log: PATIENT-MARKER' } },
    ctx,
  );
  assert.ok(published.includes('log: PATIENT-MARKER'), 'published when asked');
  const m = incidentNote(manual, ctx);
  assert.match(m, /# Incident: Rollback to backup set 20261120T080000Z-cccccc/);
  assert.match(m, /Nothing in this run: the rollback was asked for by the operator/);
  assert.match(m, /None: neither the database nor a volume was restored/);
  assert.match(m, /`backup-id: 20261124T120000Z-dddddd`, `scope: app`/);
  assert.match(incidentNote(rollbackEvent(rollbackDone({ scope: 'static' })), ctx), /`scope: static`/);
  assert.match(
    incidentNote(rollbackEvent(rollbackDone({ snapshot: null })), ctx),
    /No snapshot of the replaced state exists/,
  );
});

test('timeboxed: a call that never answers is given up at its limit; reasons never quote a URL', async () => {
  const t0 = Date.now();
  let aborted = false;
  const r = await timeboxed(150, (signal) => {
    signal.addEventListener('abort', () => (aborted = true));
    return new Promise<never>(() => {});
  });
  assert.deepEqual(r, { ok: false, reason: 'no answer within 0.1 s', answered: false });
  assert.ok(Date.now() - t0 < 1000);
  assert.ok(aborted, 'the request is aborted, not left running');
  assert.deepEqual(await timeboxed(100, async () => 5), { ok: true, value: 5 });
  const refused = new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
  });
  assert.equal(describeError(refused), 'connection failed (ECONNREFUSED)');
  assert.equal(
    describeError(new Error('bad https://hooks.slack.com/services/T/B/Secret thing')),
    'bad <url> thing',
  );
  const httpError = Object.assign(new Error('Resource not accessible by integration'), {
    status: 403,
    response: { status: 403 },
  });
  assert.equal(describeError(httpError), 'HTTP 403: Resource not accessible by integration');
  const answered = await timeboxed(100, () => Promise.reject(httpError));
  assert.deepEqual(answered, {
    ok: false,
    reason: 'HTTP 403: Resource not accessible by integration',
    answered: true,
  });
});

test('deployment records: the migrations class, what became of the database and the carry-over counts (never keys)', () => {
  const classified = deployEvent(
    deployResult({
      ok: true,
      healthy: true,
      deployedImage: `${IMG}:v2`,
      verify: goodVerify,
      migrations: { class: 'destructive', applied: {}, pending: [] },
    }),
    'v2',
  );
  assert.equal(
    finishStatuses(T, classified, 7, null)[0]!.description,
    `${IMG}:v2 running and verified (migrations: destructive)`,
  );
  const carried = rollbackEvent(
    rollbackDone({
      parts: [
        { part: 'database', status: 'restored', account: DB_RESTORED },
        {
          part: 'carry-over',
          status: 'restored',
          from: '20261120T080000Z-cccccc',
          tables: {
            records_patient: { inserted: 3, updated: 2, deleted: 1, listed: 1 },
            records_ward: { inserted: 1, updated: 0, deleted: 0, listed: 0 },
          },
          listed: 1,
          report: '/srv/eqmd/backups/20261124T120000Z-dddddd/carry-over.json',
        },
      ],
    }),
  );
  const payload = rollbackCreate(T, carried).payload;
  assert.equal(payload.database, 'restored');
  assert.equal(payload.carryOver, '4 inserted, 2 updated, 1 deleted, 1 listed');
  const migratedBack = rollbackEvent(
    rollbackDone({ parts: [{ part: 'schema', status: 'restored', to: ['records:0002'], by: `${IMG}:v3` }] }),
  );
  assert.equal(rollbackCreate(T, migratedBack).payload.database, 'kept, migrated back');
  assert.equal(rollbackCreate(T, migratedBack).payload.carryOver, undefined);
  const failedCarry = rollbackEvent(
    rollbackDone({
      parts: [
        { part: 'database', status: 'restored', account: DB_RESTORED },
        { part: 'carry-over', status: 'failed', name: 'postgres', why: 'x' },
      ],
    }),
  );
  assert.equal(rollbackCreate(T, failedCarry).payload.carryOver, 'failed');
  const rolledCarry = deployEvent(
    deployResult({
      rolledBack: true,
      healthy: true,
      verify: failedVerify,
      rollbackVerify: goodVerify,
      parts: carried.parts,
      failure: 'v3 failed verification',
    }),
    'v3',
  );
  assert.match(
    finishStatuses(T, rolledCarry, 7, 3)[0]!.description,
    /^rolled back to \S+ \(database restored; 7 rows carried, 1 listed\): HTTP health/,
  );
});

test('what became of the writes made since the set: carried over, only in the snapshot, or never touched', () => {
  const carry = {
    part: 'carry-over' as const,
    status: 'restored' as const,
    from: '20261120T080000Z-cccccc',
    tables: { records_patient: { inserted: 3, updated: 1, deleted: 1, listed: 2 } },
    listed: 2,
    report: '/srv/eqmd/backups/20261124T120000Z-dddddd/carry-over.json',
  };
  const db = { part: 'database' as const, status: 'restored' as const, account: DB_RESTORED };
  const summaryOf = (parts: RollbackDone['parts']) =>
    rollbackSummary(rollbackView(rollbackDone({ parts })), '');
  assert.match(summaryOf([db, carry]), /were carried over \(above\); the snapshot holds them too\./);
  assert.doesNotMatch(summaryOf([db, carry]), /only in that snapshot/);
  assert.match(summaryOf([db]), /Writes made after the restored set was taken are only in that snapshot\./);
  const kept = summaryOf([{ part: 'schema', status: 'restored', to: ['records:0002'], by: 'x' }]);
  assert.doesNotMatch(kept, /only in that snapshot|carried over \(above\)/, 'nothing was put back over them');
  const ctx = {
    at: '2026-11-24T12:01:00.000Z',
    runUrl: T.logUrl,
    actor: 'alice',
    repository: 'org/equipemed',
    environment: 'production',
    projectDir: '/srv/eqmd',
    artifactName: 'a',
  };
  const note = incidentNote(rollbackEvent(rollbackDone({ parts: [db, carry] })), ctx);
  assert.match(
    note,
    /were carried over into the restored database: 5 rows; 2 could not be carried and are listed with the reason in `\/srv\/eqmd\/backups\/20261124T120000Z-dddddd\/carry-over\.json` on the host\./,
  );
  assert.doesNotMatch(note, /are no longer in the live data/);
  assert.match(
    incidentNote(rollbackEvent(rollbackDone({ parts: [db] })), ctx),
    /are no longer in the live data/,
  );
});
