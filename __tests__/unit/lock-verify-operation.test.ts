import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settingsFor } from './host-fixture.js';
import { RefusedError } from '../../src/errors.js';
import { acquireLock } from '../../src/operations/lock.js';
import { verifyContainer } from '../../src/operations/verify.js';
import { appContainer, FakeHost, silentLog } from './fake-host.js';

/** The lock and verify operations against a scripted host: each branch of their story. */

const settings = (over: Record<string, string> = {}) =>
  settingsFor('backup', { 'lock-timeout': '0', ...over });
const noSleep = async () => {};
const held = (
  keeper: string,
  owner = '{"command":"deploy","actor":"ana","repository":"org/x","runId":"7"}',
) => ({ stdout: `state=held\nowner=${owner}\nage_s=5\nkeeper=${keeper}\n` });

// The timeout catches a release that does not end its keeper (which then lingers up to a second on a host).
test(
  'lock: free → taken, its keeper started, stray helpers swept; released with the token',
  { timeout: 5000 },
  async () => {
    const host = new FakeHost().on(/mkdir -m 755/, { stdout: 'state=acquired\n' });
    const lock = await acquireLock(host, settings(), silentLog(), 'tok-1', noSleep);
    assert.ok(host.ran(/eqmd-rollback\.lock/));
    assert.ok(
      host.commands.some((c) => /tok-1/.test(c.command) && !/mkdir -m 755/.test(c.command)),
      'the keeper',
    );
    assert.ok(host.ran(/label=eqmd-rollback\.project-dir=\/srv\/eqmd-a/), 'helpers of this project swept');
    await lock.release();
    assert.ok(host.commands.at(-1)!.command.includes('tok-1'), 'released with its token');
  },
);

test('lock: a live holder is waited for, then refused naming it; nothing broken', async () => {
  const host = new FakeHost().on(/mkdir -m 755/, held('alive'));
  const sleeps: number[] = [];
  await assert.rejects(
    acquireLock(
      host,
      settings({ 'lock-timeout': '0' }),
      silentLog(),
      't',
      async (ms) => void sleeps.push(ms),
    ),
    (err: unknown) =>
      err instanceof RefusedError &&
      /is held by deploy by ana \(org\/x, run 7\).*Nothing was changed/.test(err.message),
  );
  assert.ok(!host.ran(/came back to life/), 'a live holder is never broken');
});

test('lock: a stale one is reported with the command to clear it, and broken only when asked', async () => {
  const stale = new FakeHost().on(/mkdir -m 755/, held('gone'));
  await assert.rejects(
    acquireLock(stale, settings(), silentLog(), 't', noSleep),
    (err: unknown) =>
      err instanceof RefusedError &&
      /is stale: its holder process no longer exists.*rm -rf \/srv\/eqmd-a\/\.eqmd-rollback\.lock/.test(
        err.message,
      ),
  );
  assert.ok(!stale.ran(/came back to life/), 'not broken unasked');
  let first = true;
  const breaking = new FakeHost().on(/mkdir -m 755/, () => {
    const reply = first ? held('gone') : { stdout: 'state=acquired\n' };
    first = false;
    return reply;
  });
  const log = silentLog();
  await acquireLock(breaking, settings({ 'break-stale-lock': 'true' }), log, 't', noSleep);
  assert.ok(breaking.ran(/came back to life/), 'broken on request');
  assert.match(log.lines.join('\n'), /breaking the stale lock/);
});

const vs = (over: Record<string, string> = {}) =>
  settings({ command: 'verify', 'health-interval': '1', 'health-timeout': '5', ...over }).verify;

test('verify: healthy → every check a row; nothing from the app kept', async () => {
  const host = new FakeHost({ inspectContainer: async () => appContainer });
  const r = await verifyContainer(host, 'c0ffee', vs().health, vs(), silentLog());
  assert.equal(r.healthy, true);
  assert.deepEqual(
    r.checks.map((c) => [c.check, c.ok]),
    [
      ['HTTP health http://localhost:8778/health/', true],
      ['container running, not restarting', true],
      ['Docker health status', true],
      ['database check (db-check-command)', true],
      ['static files in /app/staticfiles: manifest.json, sw.js', true],
    ],
  );
  assert.deepEqual(r.appOutput, { healthBody: '', commands: [], logTail: '' });
});

test('verify: a failing db check and smoke command are named by role and index; their output is kept apart', async () => {
  const host = new FakeHost({
    inspectContainer: async () => appContainer,
    logTail: async () => 'log: Jane Roe',
  })
    .on(/manage\.py check/, { code: 1, stderr: 'SystemCheckError: patient Jane Roe' })
    .on(/smoke-probe-9/, { code: 9, stdout: 'smoke saw Jane Roe' });
  const r = await verifyContainer(
    host,
    'c0ffee',
    vs().health,
    vs({ 'smoke-commands': 'true\ntest -f /smoke-probe-9' }),
    silentLog(),
  );
  assert.equal(r.healthy, false);
  const rows = r.checks.map((c) => `${c.check}: ${c.detail}`).filter((row) => !row.startsWith('static'));
  assert.deepEqual(rows.slice(3), [
    'database check (db-check-command): exit 1',
    'smoke command 1 of 2: passed',
    'smoke command 2 of 2: exit 9',
  ]);
  assert.ok(!JSON.stringify(r.checks).includes('Jane Roe'), 'no app text in the checks');
  assert.deepEqual(r.appOutput.commands, [
    { check: 'database check (db-check-command)', output: 'SystemCheckError: patient Jane Roe' },
    { check: 'smoke command 2 of 2', output: 'smoke saw Jane Roe' },
  ]);
  assert.equal(r.appOutput.logTail, 'log: Jane Roe');
});

test('verify: a restart loop ends the wait at once, the checks after it are not run', async () => {
  let calls = 0;
  const host = new FakeHost({
    inspectContainer: async () => ({ ...appContainer, restartCount: calls++ === 0 ? 0 : 2 }),
  });
  host.http = [{ status: 0, body: '', error: 'ECONNREFUSED' }];
  const started = Date.now();
  const r = await verifyContainer(host, 'c0ffee', vs().health, vs(), silentLog());
  assert.equal(r.healthy, false);
  assert.equal(r.failFast, true);
  assert.ok(Date.now() - started < 4000, 'well before the 5 s timeout');
  assert.match(r.checks[0]!.detail, /restart-looping/);
  assert.match(r.checks.find((c) => c.check.startsWith('database'))!.detail, /^not run/);
});
