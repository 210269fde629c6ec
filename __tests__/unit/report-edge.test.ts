// The reporting edge against the local GitHub/webhook double (loopback HTTP, no test host): the calls
// reach GITHUB_API_URL through @actions/github's defaults, and a dead or silent endpoint costs one
// time-out and a warning, never an exception.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { flatGroups, type Log } from '../../src/log.js';
import type { DeploymentTarget } from '../../src/report/deployment-plan.js';
import { deployStart, statusRequest } from '../../src/report/deployment-plan.js';
import { closedPort, startGitHubDouble, type GitHubDouble } from '../../testhost/github-double.js';

let double: GitHubDouble;
// Loaded after GITHUB_API_URL is set: @actions/github reads it when its module loads.
let edge: typeof import('../../src/report/github.js');
let notifyEdge: typeof import('../../src/report/notify.js');
const lines: string[] = [];
const log: Log = {
  info: (m) => lines.push(`info ${m}`),
  warning: (m) => lines.push(`warning ${m}`),
  debug: (m) => lines.push(`debug ${m}`),
  group: (_t, fn) => fn(),
};
const T: DeploymentTarget = {
  owner: 'org',
  repo: 'equipemed',
  environment: 'production',
  environmentUrl: 'https://eqmd.example.org/',
  ref: '0123abcd',
  logUrl: 'https://github.com/org/equipemed/actions/runs/42',
};
const TOKEN = 'ghs_unitTestToken0123456789';

before(async () => {
  double = await startGitHubDouble();
  process.env.GITHUB_API_URL = double.apiUrl;
  edge = await import('../../src/report/github.js');
  notifyEdge = await import('../../src/report/notify.js');
});
after(() => double.close());
beforeEach(() => {
  double.reset();
  lines.length = 0;
});

test('create, status and the active lookup reach GITHUB_API_URL with the token', async () => {
  const gh = new edge.GitHubDeployments(TOKEN, T, log).within(10_000);
  assert.equal(await gh.active(), null, 'no deployment yet');
  const id = await gh.create(deployStart(T, 'v2').create);
  assert.equal(typeof id, 'number');
  await gh.status(statusRequest(T, id!, 'success', 'v2 running'));
  assert.equal(await gh.active(), id);
  assert.deepEqual(
    double.api.map((r) => `${r.method} ${r.path}`),
    [
      'GET /repos/org/equipemed/deployments?environment=production&per_page=10',
      'POST /repos/org/equipemed/deployments',
      `POST /repos/org/equipemed/deployments/${id}/statuses`,
      'GET /repos/org/equipemed/deployments?environment=production&per_page=10',
      `GET /repos/org/equipemed/deployments/${id}/statuses?per_page=1`,
    ],
  );
  assert.ok(double.api.every((r) => r.authorization === `token ${TOKEN}`));
  assert.deepEqual(
    double.deployments[0]!.statuses.map((s) => s.state),
    ['success'],
  );
  assert.ok(!lines.some((l) => l.startsWith('warning')), lines.join('\n'));
});

test('an API that never answers costs one time-out; the calls after it are skipped', async () => {
  double.hang.api = true;
  const gh = new edge.GitHubDeployments(TOKEN, T, log).within(30_000);
  const t0 = Date.now();
  assert.equal(await gh.active(), null);
  assert.equal(await gh.create(deployStart(T, 'v2').create), null);
  await gh.status(statusRequest(T, 1, 'success', 'x'));
  const took = Date.now() - t0;
  assert.ok(took >= edge.CALL_TIMEOUT_MS - 100 && took < edge.CALL_TIMEOUT_MS + 1500, `took ${took} ms`);
  assert.equal(double.api.length, 1, 'only the first call was tried');
  assert.equal(lines.filter((l) => l.startsWith('warning')).length, 1);
  assert.match(
    lines.join('\n'),
    /warning deployment record not updated: list deployments of production: no answer within 4\.0 s/,
  );
});

test('an API error (HTTP 403, token without deployments: write) is a warning; later calls are still tried', async () => {
  double.forbid = true;
  const gh = new edge.GitHubDeployments(TOKEN, T, log).within(10_000);
  assert.equal(await gh.create(deployStart(T, 'v2').create), null);
  await gh.status(statusRequest(T, 1, 'success', 'x'));
  assert.equal(double.api.length, 2, 'an answered error does not stop the next call');
  assert.match(
    lines.join('\n'),
    /warning deployment record not updated: create a deployment in production: HTTP 403: Resource not accessible by integration/,
  );
});

test('the webhook: delivered; refused or silent → a warning that never quotes the URL', async () => {
  const message = { text: 'hello', eqmd: {} } as never;
  await notifyEdge.notify(double.webhookUrl, message, log);
  assert.deepEqual(double.webhook[0]!.body, { text: 'hello', eqmd: {} });
  assert.match(lines.join('\n'), /info notify-webhook: message sent \(HTTP 200\)/);

  lines.length = 0;
  const dead = `http://127.0.0.1:${await closedPort()}/hooks/T0/B0/s3cr3tW3bh00kK3y`;
  await notifyEdge.notify(dead, message, log);
  assert.match(
    lines.join('\n'),
    /warning notify-webhook: message not delivered: connection failed \(ECONNREFUSED\)/,
  );

  lines.length = 0;
  double.hang.webhook = true;
  const t0 = Date.now();
  await notifyEdge.notify(double.webhookUrl, message, log);
  const took = Date.now() - t0;
  assert.ok(took < notifyEdge.WEBHOOK_TIMEOUT_MS + 1500, `took ${took} ms`);
  assert.match(lines.join('\n'), /message not delivered: no answer within 5\.0 s/);
  assert.ok(!lines.join('\n').includes('s3cr3t'), 'the webhook URL is never logged');
});

test('log groups never nest: an inner group is a titled line inside the one fold', async () => {
  const out: string[] = [];
  const group = flatGroups({
    start: (t) => out.push(`::group::${t}`),
    end: () => out.push('::endgroup::'),
    line: (t) => out.push(t),
  });
  const result = await group('Roll back', async () => {
    await group('Stop eqmd', async () => out.push('stopped'));
    await group('Restore', () => group('Check', async () => out.push('checked')));
    return 7;
  });
  assert.equal(result, 7);
  assert.deepEqual(out, [
    '::group::Roll back',
    '▸ Stop eqmd',
    'stopped',
    '▸ Restore',
    '▸ Check',
    'checked',
    '::endgroup::',
  ]);
  // A failure inside still closes the fold, and the next group opens its own.
  await assert.rejects(group('Fails', () => group('Inner', async () => Promise.reject(new Error('x')))));
  await group('Next', async () => undefined);
  assert.deepEqual(out.slice(-5), [
    '::group::Fails',
    '▸ Inner',
    '::endgroup::',
    '::group::Next',
    '::endgroup::',
  ]);
});

test('the webhook goes through the runner’s proxy (http_proxy / https_proxy), as the API calls do', async () => {
  // A CONNECT proxy that sends every host to the double: the name below resolves nowhere else.
  const tunnels: string[] = [];
  const proxy = createServer();
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const port = Number((req.url ?? '').split(':').pop());
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const saved = { http_proxy: process.env.http_proxy, https_proxy: process.env.https_proxy };
  process.env.http_proxy = proxyUrl;
  process.env.https_proxy = proxyUrl;
  try {
    const { port, pathname } = new URL(double.webhookUrl);
    const before = double.webhook.length;
    await notifyEdge.notify(
      `http://eqmd-webhook.test:${port}${pathname}`,
      { text: 'via proxy', eqmd: {} } as never,
      log,
    );
    assert.deepEqual(tunnels, [`eqmd-webhook.test:${port}`]);
    assert.equal(double.webhook.length, before + 1);
    assert.deepEqual(double.webhook.at(-1)!.body, { text: 'via proxy', eqmd: {} });
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    proxy.close();
  }
});
