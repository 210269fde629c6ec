import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MigrationReport } from '../../src/migrations/classify.js';
import { checkFrontDoor } from '../../src/operations/zero-downtime/front-door.js';
import { switchMode } from '../../src/operations/zero-downtime/mode.js';
import { addressFor, behindProxy, proxyCommand } from '../../src/operations/proxy.js';
import { commands, parseLook, runtimeStep, serving, type SlotState } from '../../src/proxy/runtime.js';
import { appContainer, FakeHost, silentLog } from './fake-host.js';

// What HAProxy 2.6 answered on the test host's instance d (show stat trimmed to its first columns).
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 service 172.18.0.2 2 0 1 1 3 15 3 2 6 0 0 0 eqmd 8000 - 0 0 - - 0
3 app 2 candidate 127.0.0.1 0 5 1 1 4 1 0 0 14 0 0 0 - 8000 - 0 0 - - 0
`;
const STAT = `# pxname,svname,qcur,qmax,scur,smax,slim,stot
app,service,0,0,3,1,,4
app,candidate,0,0,0,0,,0
`;
const HOLDS = 'held=20 longest_ms=8600 refused=1\n';
const look = (state = STATE, stat = STAT, holds = HOLDS) => parseLook(`${state}\n${stat}\n${holds}`);

test('parseLook reads both slots, their requests in flight and the hold counters', () => {
  const r = look();
  assert.ok(r.ok, r.ok ? '' : r.why);
  assert.deepEqual(r.value.slots.service, {
    slot: 'service',
    addr: '172.18.0.2',
    port: 8000,
    opState: 2,
    adminState: 0,
    current: 3,
  });
  assert.equal(r.value.slots.candidate.adminState, 5);
  assert.deepEqual(r.value.holds, { held: 20, longestMs: 8600, refused: 1 });
});

test('parseLook rejects what does not follow the contract (accept/reject table)', () => {
  const rejects: [string, string, RegExp][] = [
    ['no candidate slot', look(STATE.replace(/^3 app 2 candidate.*$/m, '')), /no server candidate/],
    [
      'hold.lua not loaded',
      look(STATE, STAT, 'Unknown command: show holds\n'),
      /runtime API answered|show holds/,
    ],
    ['scur not a number', look(STATE, STAT.replace('app,service,0,0,3', 'app,service,0,0,x')), /scur/],
    ['an address that is no IPv4', look(STATE.replace('172.18.0.2', '$(reboot)')), /unexpected line/],
    ['a port that is no number', look(STATE.replace('eqmd 8000', 'eqmd 80;0')), /unexpected line/],
    [
      'stat without the candidate',
      look(STATE, STAT.replace(/^app,candidate.*$/m, '')),
      /show stat lists no server candidate/,
    ],
  ].map(([what, r, why]) => [what as string, JSON.stringify(r), why as RegExp]);
  for (const [what, r, why] of rejects) {
    const parsed = JSON.parse(r) as { ok: boolean; why?: string };
    assert.equal(parsed.ok, false, `${what} is rejected`);
    assert.match(parsed.why ?? '', why, what);
  }
  const accepts = [
    look(),
    look(STATE.replace(' 2 0 1 1 3', ' 2 1 1 1 3')),
    look(STATE, STAT, 'held=0 longest_ms=0 refused=0'),
  ];
  for (const r of accepts) assert.equal(r.ok, true);
});

test('serving: running and in no maintenance or drain mode; the config-disabled mark alone does not count', () => {
  const s = (opState: number, adminState: number): SlotState => ({
    slot: 'candidate',
    addr: '10.0.0.2',
    port: 8000,
    opState,
    adminState,
    current: 0,
  });
  assert.equal(serving(s(2, 0)), true);
  assert.equal(serving(s(2, 4)), true, 'disabled in the config, then set ready');
  for (const admin of [1, 5, 8, 0x20]) assert.equal(serving(s(2, admin)), false, `admin ${admin}`);
  assert.equal(serving(s(0, 0)), false);
});

test('runtime commands are built from validated values only; data reaches the script as parameters', () => {
  assert.deepEqual(commands.enable('candidate', '172.18.0.4', 8000), [
    'set server app/candidate addr 172.18.0.4 port 8000',
    'set server app/candidate state ready',
  ]);
  for (const ip of ['172.18.0.256', '1.2.3', 'eqmd;reboot', '', '::1'])
    assert.throws(() => commands.enable('service', ip, 8000), /IPv4/, ip);
  for (const port of [0, 65536, 1.5])
    assert.throws(() => commands.enable('service', '10.0.0.1', port), /port/);
  const s = runtimeStep('abc123', commands.drain('service'), true);
  assert.match(s.command, /docker exec -i "\$1" bash -c "\$2" bash "\$3" "\$4"' bash abc123 /);
  assert.match(s.command, /'set server app\/service state drain' \/var\/lib\/haproxy\/state\/servers.state$/);
});

test('switchMode: beside only when the running version keeps working on the new schema', () => {
  const report = (c: MigrationReport['class']): MigrationReport => ({ class: c, applied: {}, pending: [] });
  assert.equal(switchMode(report('none')).mode, 'beside');
  assert.equal(switchMode(report('compatible')).mode, 'beside');
  for (const c of ['breaks-old-writes', 'destructive', 'irreversible'] as const)
    assert.equal(switchMode(report(c)).mode, 'held', c);
  assert.equal(switchMode(null).mode, 'held', 'not classified: not shared');
});

test('behind the proxy every container is verified directly, on the port the service slot names', () => {
  const settings = {
    verify: { health: { protocol: 'http:' as const, host: 'localhost', port: 8808, path: '/health/' } },
  };
  assert.equal(behindProxy(settings, { proxy: null }), settings);
  const proxy = { container: appContainer, look: {} as never, appPort: 8000 };
  assert.deepEqual(behindProxy(settings, { proxy }).verify.health, {
    ...settings.verify.health,
    containerPort: 8000,
  });
  assert.equal(
    addressFor(
      { ...appContainer, networks: { 'eqmd-a_default': '172.18.0.9', other: '10.1.1.1' } },
      appContainer,
    ),
    '172.18.0.9',
  );
  assert.throws(
    () => addressFor({ ...appContainer, networks: { other: '10.1.1.1' } }, appContainer),
    /shares no network/,
  );
});

test('a proxy found stopped mid-switch is started again and the command sent again; one that never answers is named', async () => {
  let running = false;
  let starts = 0;
  const host = new FakeHost({
    inspectContainer: async () => ({
      ...appContainer,
      name: 'eqmd-d_haproxy_1',
      running,
      status: running ? 'running' : 'exited',
    }),
    startContainer: async () => {
      starts++;
      running = true;
    },
  });
  host.on(/docker exec -i/, () =>
    running ? { stdout: 'ok\n' } : { code: 1, stderr: 'container is not running' },
  );
  const log = silentLog();
  const proxy = { container: { ...appContainer, name: 'eqmd-d_haproxy_1' } };
  assert.equal(await proxyCommand(host, proxy, commands.maint('service'), log, true), 'ok\n');
  assert.equal(starts, 1);
  assert.match(log.lines.join('\n'), /eqmd-d_haproxy_1 was exited: starting it again/);

  const gone = new FakeHost();
  gone.on(/docker exec -i/, { code: 1, stderr: 'No such container' });
  await assert.rejects(
    proxyCommand(gone, proxy, commands.maint('service'), log),
    /eqmd-d_haproxy_1 is gone: set server app\/service state maint was not applied/,
  );
});

test('the end state is checked through the proxy: healthy directly but not served through it fails the run', async () => {
  const settings = {
    verify: {
      health: {
        protocol: 'http:' as const,
        host: 'localhost',
        port: 8808,
        path: '/health/',
        containerPort: 8000,
      },
    },
  };
  const proxy = {
    container: { ...appContainer, name: 'eqmd-d_haproxy_1' },
    look: {} as never,
    appPort: 8000,
  };
  const result = { healthy: true, failure: '', notes: [] as string[] };
  const host = new FakeHost();
  host.http = [{ status: 503, body: '', error: '' }];
  const out = await checkFrontDoor(host, settings as never, silentLog(), proxy, result, 300);
  assert.equal(out.healthy, false);
  assert.match(
    out.failure,
    /healthy when asked directly, but the proxy eqmd-d_haproxy_1 does not serve it \(HTTP 503\)/,
  );
  assert.equal(host.httpCalls[0]?.port, 8808, 'asked through the proxy, not the container');
  assert.equal(host.httpCalls[0]?.containerPort, undefined);
  const ok = new FakeHost();
  assert.deepEqual(await checkFrontDoor(ok, settings as never, silentLog(), proxy, result, 300), result);
});
