import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { resetInstance, runAction, servedVersion, sh, testHost, type ActionRun } from '../e2e/harness.js';
import { fault } from './fault.js';
import { instanceInputs, lockHeld, waitFor } from './inject.js';

// Instance d: EquipeMed behind HAProxy (examples/zero-downtime), strategy zero-downtime.
const h = testHost();
const d = h.instances.d;
const filter = `--filter label=com.docker.compose.project=${d.composeProject}`;
const appId = () =>
  sh(
    `docker ps -q ${filter} --filter label=com.docker.compose.service=eqmd --filter label=com.docker.compose.oneoff=False`,
  ).trim();
const proxyId = () => sh(`docker ps -aq ${filter} --filter label=com.docker.compose.service=haproxy`).trim();
const proxyRunning = () => sh(`docker inspect -f '{{.State.Running}}' ${proxyId()}`).trim() === 'true';
const tail = (r: ActionRun) =>
  r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask') && !l.startsWith('::debug'))
    .join('\n')
    .slice(-3000);

/** Runs the action and, once the service's container has left (mid-switch), does `inject`. */
async function midSwitch(inputs: Record<string, string>, inject: () => void): Promise<ActionRun> {
  const before = appId();
  const run = runAction({ ...instanceInputs(d), strategy: 'zero-downtime', ...inputs });
  let done = false;
  void run.finally(() => (done = true));
  await waitFor('the service container to leave mid-switch', () => done || !appId().includes(before), 90_000);
  assert.equal(done, false, 'the fault landed while the action ran');
  inject();
  return run;
}

describe('the proxy dies mid-switch (strategy zero-downtime)', () => {
  fault(22, 'the HAProxy process is killed mid-switch (a crash: Docker restarts it)', async () => {
    resetInstance('d');
    // v9's migrations are destructive: the held switch, where a proxy that lost its state would keep
    // holding every request.
    const r = await midSwitch({ command: 'deploy', version: 'v9' }, () =>
      sh(`kill -9 $(docker inspect -f '{{.State.Pid}}' ${proxyId()})`),
    );
    assert.equal(r.code, 0, tail(r));
    await waitFor('the proxy to run', proxyRunning, 20_000);
    assert.equal(await servedVersion(d), 'v9', 'users reach the new version through the restarted proxy');
    assert.match(r.stdout, /through the proxy \S+: HTTP 200/);
    assert.equal(lockHeld(d), false);
    return 'restarted by Docker from its saved state; the action finished the switch through it, checked the app through it (HTTP 200), v9 served';
  });

  fault(22, 'the HAProxy container is stopped mid-switch (it stays down)', async () => {
    // An emergency rollback from v9 restores the database: the service stops, requests are held.
    const r = await midSwitch({ command: 'rollback' }, () => sh(`docker stop -t 1 ${proxyId()} >/dev/null`));
    assert.equal(r.code, 0, tail(r));
    assert.match(r.stdout, /HAProxy container \S+ was exited: starting it again/);
    assert.equal(proxyRunning(), true);
    assert.equal(await servedVersion(d), 'v1', 'users reach the restored version through the proxy');
    assert.match(r.stdout, /through the proxy \S+: HTTP 200/);
    return 'the action started the proxy again (saved state), finished the rollback through it and checked it (HTTP 200), v1 served';
  });
});
