// Deploys and rollbacks reported where a team looks, through the built action and the runner contract:
// GitHub deployments (REST calls to a local double at GITHUB_API_URL, asserted call by call), the error
// annotation, the notify-webhook message and the incident note in the uploaded artifact. Then the same
// runs with the API and the webhook refused or silent: the deploy's result is unchanged, a warning is
// printed, and the run waits no longer than the time-outs.
//
// Instance c only (PostgreSQL on the host, reached with database-url).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  closedPort,
  startGitHubDouble,
  type GitHubDouble,
  type Recorded,
} from '../../testhost/github-double.js';
import { startResultsDouble, type ResultsDouble } from '../../testhost/results-double.js';
import {
  connectionInputs,
  resetInstance,
  runAction,
  servedVersion,
  testHost,
  type ActionRun,
} from './harness.js';

const h = testHost();
const c = h.instances.c;
const TOKEN = 'ghs_e2eReportingToken0123456789abcdef';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const ENV_URL = 'https://eqmd.example.org/';
const image = (v: string) => `${h.image}:${v}`;

let gh: GitHubDouble;
let results: ResultsDouble;

const inputs = (over: Record<string, string>): Record<string, string> => ({
  ...connectionInputs(h, 'v2'),
  'project-dir': c.projectDir,
  'database-url': c.databaseUrl!,
  'health-url': c.healthUrl.replace('127.0.0.1', 'localhost'),
  'github-token': TOKEN,
  environment: 'production',
  'environment-url': ENV_URL,
  'notify-webhook': gh.webhookUrl,
  ...over,
});

/** In v3's health answer body and its log (testhost/variants/v3): the stand-in for patient data. */
const APP_MARKER = 'EQMD-APP-OUTPUT-7f3a';

async function run(over: Record<string, string>, env: Record<string, string> = {}) {
  gh.api.length = 0;
  gh.webhook.length = 0;
  const started = Date.now();
  const r = await runAction(inputs(over), {
    env: { GITHUB_API_URL: gh.apiUrl, ...results.env(), ...env },
  });
  const ended = Date.now();
  noSecretPrinted(r, [TOKEN, gh.webhookUrl, new URL(gh.webhookUrl).pathname]);
  return { r, started, ended };
}

/** The runner masks ::add-mask:: values; everything else must not contain them in the first place. */
function noSecretPrinted(r: ActionRun, secrets: string[]): void {
  const printed = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  for (const s of secrets) assert.ok(!printed.includes(s), `a secret was printed: ${s.slice(0, 12)}…`);
}

const runLink = (r: ActionRun) => {
  const id = /actions\/runs\/(\d+)/.exec(JSON.stringify(gh.api.concat(gh.webhook)))?.[1] ?? '';
  return { id, url: `https://github.com/org/equipemed/actions/runs/${id}`, r };
};
const call = (q: Recorded) => `${q.method} ${q.path}`;
const deploymentsPath = '/repos/org/equipemed/deployments';

async function artifactFiles(name: string): Promise<Record<string, string>> {
  const stored = (await results.artifacts()).filter((a) => a.name === name);
  assert.equal(stored.length, 1, `artifact ${name} uploaded once`);
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-report-zip-'));
  const zip = join(dir, 'a.zip');
  writeFileSync(zip, stored[0]!.zip);
  const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return Object.fromEntries(
    names.map((n) => [n, execFileSync('unzip', ['-p', zip, n], { encoding: 'utf8' })]),
  );
}

function deployReport(r: ActionRun): { timings: { totalMs: number } } {
  const dir = join(r.dir, 'eqmd-rollback');
  const sub = readdirSync(dir).find((d) => d.startsWith('deploy-'))!;
  return JSON.parse(readFileSync(join(dir, sub, 'deploy-report.json'), 'utf8'));
}

const annotations = (r: ActionRun) => r.stdout.split('\n').filter((l) => l.startsWith('::error'));
const warnings = (r: ActionRun) => r.stdout.split('\n').filter((l) => l.startsWith('::warning'));

describe('reporting: GitHub deployments, annotations, webhook, incident note', () => {
  before(async () => {
    resetInstance('c');
    gh = await startGitHubDouble();
    results = await startResultsDouble();
  });
  after(async () => {
    await gh?.close();
    await results?.close();
  });

  let v2Deployment = 0;
  let v3Deployment = 0;

  test('a good deploy: deployment created, in_progress, success; no annotation, no webhook, no incident note', async () => {
    const { r } = await run({ command: 'deploy', version: 'v2' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.outputs['deployed-image'], image('v2'));
    const { url } = runLink(r);
    assert.deepEqual(gh.api.map(call), [
      `GET ${deploymentsPath}?environment=production&per_page=10`,
      `POST ${deploymentsPath}`,
      `POST ${deploymentsPath}/1000/statuses`,
      `POST ${deploymentsPath}/1000/statuses`,
    ]);
    assert.ok(gh.api.every((q) => q.authorization === `token ${TOKEN}`));
    assert.deepEqual(gh.api[1]!.body, {
      ref: SHA,
      environment: 'production',
      description: 'deploy v2',
      payload: { tool: 'eqmd-rollback', command: 'deploy', version: 'v2' },
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
      production_environment: true,
    });
    assert.deepEqual(gh.api[2]!.body, {
      state: 'in_progress',
      description: 'deploying v2',
      log_url: url,
      environment_url: ENV_URL,
      auto_inactive: false,
    });
    assert.deepEqual(gh.api[3]!.body, {
      state: 'success',
      description: `${image('v2')} running and verified (migrations: compatible)`,
      log_url: url,
      environment_url: ENV_URL,
      auto_inactive: false,
    });
    // in_progress was recorded while the deploy ran, before the switch had even been verified.
    assert.ok(gh.api[2]!.at < gh.api[3]!.at);
    v2Deployment = 1000;
    assert.deepEqual(annotations(r), []);
    assert.equal(gh.webhook.length, 0, 'a good deploy is not worth a message');
    const files = await artifactFiles(`eqmd-deploy-${r.outputs['backup-id']}`);
    assert.deepEqual(Object.keys(files).sort(), ['deploy-report.json', 'manifest.json']);
  });

  test('a rolled-back deploy: failure status, error annotation, webhook message, incident note in the artifact', async () => {
    const { r } = await run({ command: 'deploy', version: 'v3' });
    assert.equal(r.code, 1);
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs['deployed-image'], image('v2'));
    assert.equal(await servedVersion(c), 'v2');
    const { url } = runLink(r);
    v3Deployment = v2Deployment + 3;
    assert.deepEqual(gh.api.map(call), [
      `GET ${deploymentsPath}?environment=production&per_page=10`,
      `GET ${deploymentsPath}/${v2Deployment}/statuses?per_page=1`,
      `POST ${deploymentsPath}`,
      `POST ${deploymentsPath}/${v3Deployment}/statuses`,
      `POST ${deploymentsPath}/${v3Deployment}/statuses`,
    ]);
    assert.equal((gh.api[2]!.body as { description: string }).description, 'deploy v3');
    assert.equal((gh.api[3]!.body as { state: string }).state, 'in_progress');
    const final = gh.api[4]!.body as Record<string, string>;
    assert.equal(final.state, 'failure');
    assert.match(
      final.description!,
      new RegExp(
        `^rolled back to ${image('v2')} \\(database restored; \\d+ rows carried, 0 listed\\): HTTP health`,
      ),
    );
    assert.equal(final.log_url, url);
    // The v2 record stays the active one: v2 is what runs.
    assert.deepEqual(
      gh.deployments.find((d) => d.id === v2Deployment)!.statuses.map((s) => s.state),
      ['in_progress', 'success'],
    );

    const titled = annotations(r).filter((l) => l.startsWith('::error title='));
    assert.equal(titled.length, 1, annotations(r).join('\n'));
    assert.match(
      titled[0]!,
      new RegExp(
        `^::error title=Deploy of v3 rolled back::Failed check: HTTP health http://localhost:8798/health/: 3 server errors in a row .*Restored ${image('v2').replace(/\./g, '\\.')} \\(healthy\\)\\.$`,
      ),
    );

    assert.equal(gh.webhook.length, 1);
    const hook = gh.webhook[0]!.body as { text: string; eqmd: Record<string, unknown> };
    const artifactName = `eqmd-deploy-${r.outputs['backup-id']}`;
    assert.match(hook.text, /^\[org\/equipemed \/ production\] Deploy of v3 FAILED and was rolled back to /);
    assert.match(
      hook.text,
      new RegExp(`Versions: tried v3, was ${image('v2')}, now ${image('v2')} \\(healthy\\)`),
    );
    assert.match(hook.text, /\nRestored: env file \.env from .*PostgreSQL restored from/);
    assert.match(hook.text, new RegExp(`\nManifest artifact: ${artifactName} ${url}/artifacts/\\d+\n`));
    assert.match(hook.text, new RegExp(`\nRun: ${url}$`));
    assert.equal(hook.eqmd.outcome, 'rolled-back');

    const files = await artifactFiles(artifactName);
    assert.deepEqual(Object.keys(files).sort(), [
      'deploy-report.json',
      'failed-state-manifest.json',
      'incident.md',
      'manifest.json',
    ]);
    const note = files['incident.md']!;
    const failedState = JSON.parse(files['failed-state-manifest.json']!) as { id: string };
    for (const fragment of [
      '# Incident: Deploy of v3 failed and was rolled back automatically',
      `- Run: ${url}`,
      '| HTTP health http://localhost:8798/health/ | 3 server errors in a row',
      'Last probe answer: HTTP 500',
      '## What was restored',
      'PostgreSQL restored from',
      '## Data-loss window',
      'were carried over into the restored database: 0 rows, none left out.',
      `the snapshot \`${failedState.id}\``,
      `\`command: rollback\`, \`backup-id: ${failedState.id}\`, \`scope: full\``,
    ]) {
      assert.ok(note.includes(fragment), `incident.md lacks: ${fragment}\n${note}`);
    }

    // v3's health body and its log carry a marker (a stand-in for a patient's data): it is published
    // nowhere, and it is kept on the host in the failed-state set, readable by the deploy user only.
    const published = {
      log: r.stdout,
      summary: r.summary,
      artifact: JSON.stringify(files),
      webhook: JSON.stringify(gh.webhook),
      deployments: JSON.stringify(gh.api),
    };
    for (const [where, text] of Object.entries(published))
      assert.ok(!text.includes(APP_MARKER), `the app's output reached the ${where}`);
    const kept = join(c.projectDir, 'backups', failedState.id, 'app-output.txt');
    assert.match(readFileSync(kept, 'utf8'), new RegExp(APP_MARKER));
    assert.equal(statSync(kept).mode & 0o777, 0o600);
    assert.match(r.summary, new RegExp(`is not published: it is kept in \`${kept}\` on the host`));
    assert.match(note, /is not published: it is kept in/);
  });

  test('a manual rollback: deployment of the restored version, success, the replaced one inactive', async () => {
    const { r } = await run({ command: 'rollback' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.outputs['deployed-image'], image('v1'));
    assert.equal(await servedVersion(c), 'v1');
    const { url } = runLink(r);
    const created = v3Deployment + 3;
    assert.deepEqual(gh.api.map(call), [
      `GET ${deploymentsPath}?environment=production&per_page=10`,
      `GET ${deploymentsPath}/${v3Deployment}/statuses?per_page=1`,
      `GET ${deploymentsPath}/${v2Deployment}/statuses?per_page=1`,
      `POST ${deploymentsPath}`,
      `POST ${deploymentsPath}/${created}/statuses`,
      `POST ${deploymentsPath}/${v2Deployment}/statuses`,
    ]);
    const create = gh.api[3]!.body as { description: string; payload: Record<string, string>; ref: string };
    assert.equal(create.ref, SHA);
    assert.match(create.description, new RegExp(`^rollback to backup set \\S+: ${image('v1')}$`));
    assert.equal(create.payload.image, image('v1'));
    assert.equal(create.payload.replaced, image('v2'));
    assert.equal(
      create.payload.database,
      'kept',
      "v2's compatible migration kept: v1 runs on it, every row and value live",
    );
    assert.deepEqual(gh.api[4]!.body, {
      state: 'success',
      description: `${image('v1')} restored and verified`,
      log_url: url,
      environment_url: ENV_URL,
      auto_inactive: false,
    });
    assert.deepEqual(gh.api[5]!.body, {
      state: 'inactive',
      description: `replaced by ${image('v1')} (deployment ${created})`,
      log_url: url,
      auto_inactive: false,
    });

    assert.match(
      annotations(r).join('\n'),
      new RegExp(
        `::error title=Rolled back to backup set \\S+::Restored ${image('v1')} in place of ${image('v2')} \\(healthy\\)\\.`,
      ),
    );
    assert.equal(gh.webhook.length, 1);
    const hook = gh.webhook[0]!.body as { text: string };
    assert.match(hook.text, /^\[org\/equipemed \/ production\] Rolled back to backup set /);
    assert.match(hook.text, new RegExp(`was ${image('v2')}, now ${image('v1')} \\(healthy\\)`));
    assert.match(hook.text, new RegExp(`Run: ${url}$`));

    const files = await artifactFiles(`eqmd-rollback-${r.outputs['backup-id']}`);
    const note = files['incident.md'];
    assert.ok(note, `incident.md in the artifact (${Object.keys(files).join(', ')})`);
    assert.match(note, /# Incident: Rollback to backup set /);
    assert.match(note, /## Data-loss window/);
    assert.match(
      note,
      new RegExp(`\`backup-id: ${r.outputs['backup-id']}\``),
      'undo from the pre-restore snapshot',
    );
  });

  test('a deploy stopped by an error before any change: its deployment ends in error, the webhook says so', async () => {
    const { r } = await run({ command: 'deploy', version: 'v99' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /nothing was changed on the host/);
    assert.equal(await servedVersion(c), 'v1');
    const active = v3Deployment + 3; // the rollback's deployment
    const created = active + 3;
    assert.deepEqual(gh.api.map(call), [
      `GET ${deploymentsPath}?environment=production&per_page=10`,
      `GET ${deploymentsPath}/${active}/statuses?per_page=1`,
      `POST ${deploymentsPath}`,
      `POST ${deploymentsPath}/${created}/statuses`,
      `POST ${deploymentsPath}/${created}/statuses`,
    ]);
    const final = gh.api[4]!.body as Record<string, string>;
    assert.equal(final.state, 'error');
    assert.match(final.description!, /^failed: .*v99/);
    assert.equal(gh.webhook.length, 1);
    assert.match(
      (gh.webhook[0]!.body as { text: string }).text,
      /\] deploy of v99 stopped with an error\nFailed: /,
    );
  });

  test('a failed verification: error annotation naming the check, webhook; no deployment record', async () => {
    const { r } = await run({ command: 'verify', 'smoke-commands': 'exit 3' });
    assert.equal(r.code, 1);
    assert.deepEqual(gh.api, [], 'verify changes nothing, so it records no deployment');
    assert.match(
      annotations(r).join('\n'),
      new RegExp(
        `::error title=Verification failed::Failed check: smoke command 1 of 1: exit 3\\..*Image ${image('v1')}\\.`,
      ),
    );
    assert.equal(gh.webhook.length, 1);
    assert.match(
      (gh.webhook[0]!.body as { text: string }).text,
      new RegExp(`\\] Verification of ${image('v1')} FAILED\nFailed: smoke command 1 of 1: exit 3`),
    );
  });

  test('API and webhook refused (closed port): same result, warnings, nothing else', async () => {
    const dead = await closedPort();
    const { r, started, ended } = await run(
      {
        command: 'deploy',
        version: 'v4',
        'notify-webhook': `http://127.0.0.1:${dead}/hooks/T0/B0/d34dS3cr3t`,
      },
      { GITHUB_API_URL: `http://127.0.0.1:${dead}/api/v3` },
    );
    noSecretPrinted(r, ['d34dS3cr3t']);
    assert.equal(r.code, 1, 'a rolled-back deploy fails the step, as without reporting');
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(r.outputs['deployed-image'], image('v1'));
    assert.equal(await servedVersion(c), 'v1');
    assert.match(r.stdout, /deploy of v4 failed: .*rolled back to /);
    assert.match(
      warnings(r).join('\n'),
      /::warning::deployment record not updated: list deployments of production: connection failed \(ECONNREFUSED\)/,
    );
    assert.match(
      warnings(r).join('\n'),
      /::warning::notify-webhook: message not delivered: connection failed \(ECONNREFUSED\)/,
    );
    assert.match(annotations(r).join('\n'), /::error title=Deploy of v4 rolled back::/);
    const files = await artifactFiles(`eqmd-deploy-${r.outputs['backup-id']}`);
    assert.ok(files['incident.md'], 'the incident note does not depend on the API');
    refusedOverheadMs = ended - started - deployReport(r).timings.totalMs;
  });

  let refusedOverheadMs = 0;

  test('API and webhook that never answer: same result, warnings, at most one time-out longer', async () => {
    gh.hang = { api: true, webhook: true };
    const running = run({ command: 'deploy', version: 'v4' });
    while (gh.webhook.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(
      !existsSync(join(c.projectDir, '.eqmd-rollback.lock')),
      'the host lock is released before the reports are sent',
    );
    const { r, started, ended } = await running;
    gh.hang = { api: false, webhook: false };
    assert.equal(r.code, 1);
    assert.equal(r.outputs['rolled-back'], 'true');
    assert.equal(r.outputs.health, 'healthy');
    assert.equal(r.outputs['deployed-image'], image('v1'));
    assert.match(
      warnings(r).join('\n'),
      /deployment record not updated: list deployments of production: no answer within 4\.0 s/,
    );
    assert.match(warnings(r).join('\n'), /notify-webhook: message not delivered: no answer within 5\.0 s/);
    assert.equal(gh.api.length, 1, 'after one silent call the API is not tried again');
    assert.equal(gh.webhook.length, 1);
    // The webhook is the last thing sent: the run ends within its 5 s time-out of sending it.
    assert.ok(
      ended - gh.webhook[0]!.at < 5000 + 2000,
      `ended ${ended - gh.webhook[0]!.at} ms after the webhook`,
    );
    // The API hung while the deploy ran, in the background: only the webhook's time-out is added.
    const overhead = ended - started - deployReport(r).timings.totalMs;
    assert.ok(
      overhead - refusedOverheadMs < 5000 + 3000,
      `reporting added ${overhead - refusedOverheadMs} ms (overhead ${overhead} ms vs ${refusedOverheadMs} ms when refused)`,
    );
  });
});
