import type { Step } from '../backup/steps.js';
import { recoveryPlan, type DeployPlan } from '../deploy/plan.js';
import type { DeployOptions, DeployResult, TrafficReport } from '../deploy/result.js';
import type { Log } from '../log.js';
import type { MigrationReport } from '../migrations/classify.js';
import type { RemoteHost } from '../remote-host.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { keepAppOutput } from './app-output.js';
import { afterFailedCandidate } from './deploy-candidate.js';
import type { Facts } from './facts.js';
import {
  clearHolds,
  enableSlot,
  holds,
  lookAtProxy,
  retireSlot,
  servesThroughProxy,
  withRequestsHeld,
  type ProxyFacts,
} from './proxy.js';
import { RefusedError } from '../errors.js';
import { serving, SLOTS } from '../proxy/runtime.js';
import { rollbackToSet } from './rollback-to-set.js';
import { takeSnapshot } from './snapshot.js';
import { runStep } from './run-step.js';
import { currentContainer } from './service.js';
import { failedChecks, verifyContainer, type VerifyReport } from './verify.js';

export type SwitchMode = TrafficReport['switch'];

/**
 * Pure: may the new version start beside the running one? Both then share the database, so only when
 * the running version keeps working on the new schema (nothing to apply, or only compatible
 * migrations); otherwise the running version stops first and requests are held through the switch.
 */
export function switchMode(m: MigrationReport | null): { mode: SwitchMode; why: string } {
  if (!m)
    return {
      mode: 'held',
      why: 'the migrations could not be classified, so the two versions may not share the database',
    };
  if (m.class === 'none') return { mode: 'beside', why: 'the release applies no migration' };
  if (m.class === 'compatible')
    return {
      mode: 'beside',
      why: 'its migrations are compatible: the running version keeps working on the new schema',
    };
  return {
    mode: 'held',
    why: `its migrations are ${m.class}: the running version stops before they run, and requests wait at the proxy meanwhile`,
  };
}

interface Context {
  facts: Facts & { proxy: ProxyFacts };
  point: SetOnHost;
  preSet: SetOnHost;
  migrations: MigrationReport | null;
}

/**
 * strategy zero-downtime: the switch goes through the proxy, so no request meets a stopped app.
 * Beside: a candidate of the new version starts next to the running one, is verified directly, takes
 * the traffic while the service is recreated on the new image, and hands it back. Held: the service
 * leaves rotation (in-flight requests finish), requests wait at the proxy while it is recreated, the
 * migrations run and it is verified (and rolled back if it fails), then they are released.
 */
export async function zeroDowntimeSwitch(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  started: DeployResult,
  x: Context,
  clock: () => number,
): Promise<DeployResult> {
  const proxy = x.facts.proxy;
  const { mode, why } = switchMode(x.migrations);
  log.info(
    `zero-downtime switch, ${mode === 'beside' ? 'beside the running version' : 'with requests held'}: ${why}`,
  );
  await clearHolds(host, proxy, log);
  const traffic: TrafficReport = {
    switch: mode,
    why,
    held: 0,
    longestHoldMs: 0,
    refused: 0,
    drainMs: 0,
    cut: 0,
  };
  let result: DeployResult;
  try {
    result =
      mode === 'beside'
        ? await beside(host, settings, log, opts, plan, started, x, traffic, clock)
        : await held(host, settings, log, opts, plan, started, x, traffic, clock);
  } catch (err) {
    if (err instanceof RefusedError) throw err;
    throw new Error(`${(err as Error).message}. ${await whatRuns(host, settings, x, plan)}`);
  }
  const h = await holds(host, proxy, log).catch(() => null);
  if (h) Object.assign(traffic, { held: h.held, longestHoldMs: h.longestMs, refused: h.refused });
  return { ...(await checkFrontDoor(host, settings, log, proxy, result)), traffic };
}

/** What runs after a switch that stopped on an error: the operator's starting point, in one line. */
async function whatRuns(host: RemoteHost, settings: Settings, x: Context, plan: DeployPlan): Promise<string> {
  const parts: string[] = [];
  const service = await currentContainer(host, x.facts.project, settings.app.service).catch(() => null);
  parts.push(
    service
      ? `${settings.app.service} runs ${service.image} (${service.status})`
      : `${settings.app.service} has no container`,
  );
  const candidate = plan.beside
    ? await host.docker.inspectContainer(plan.beside.name).catch(() => null)
    : null;
  if (candidate) parts.push(`the candidate ${candidate.name} runs ${candidate.image} (${candidate.status})`);
  const look = await lookAtProxy(host, x.facts.proxy, silent).catch(() => null);
  parts.push(
    look
      ? `the proxy serves ${SLOTS.filter((s) => serving(look.slots[s])).join(' and ') || 'no slot (requests are held, then refused)'}`
      : `the proxy ${x.facts.proxy.container.name} does not answer`,
  );
  return `What runs now: ${parts.join('; ')}. The backup ${x.preSet.manifest.id} holds the state before the deploy.`;
}

const silent: Log = { info: () => {}, warning: () => {}, debug: () => {}, group: (_t, fn) => fn() };

/**
 * A version verified directly is not yet a version users reach: the end state is checked through the
 * proxy too, so a proxy that lost the switch (or still holds) fails the run instead of passing it.
 */
export async function checkFrontDoor<R extends { healthy: boolean; failure: string; notes: string[] }>(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  proxy: ProxyFacts,
  result: R,
  boundMs = 10_000,
): Promise<R> {
  if (!result.healthy) return result;
  const front = await log.group('Check the app through the proxy', () =>
    servesThroughProxy(host, settings.verify.health, boundMs),
  );
  log.info(`through the proxy ${proxy.container.name}: ${front.answer}`);
  if (front.ok) return result;
  const why = `the app is healthy when asked directly, but the proxy ${proxy.container.name} does not serve it (${front.answer}): users are not reaching it`;
  return {
    ...result,
    healthy: false,
    failure: result.failure ? `${result.failure}; ${why}` : why,
    notes: [...result.notes, why],
  };
}

const step = (host: RemoteHost, log: Log, s: Step) =>
  log.group(s.title, async () => (await runStep(host, s, log)).toString());

async function verifyService(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  x: Context,
  reference: string,
  clock: () => number,
): Promise<{ report: VerifyReport | null; upError: string }> {
  const c = await currentContainer(host, x.facts.project, settings.app.service);
  if (!c) return { report: null, upError: '' };
  const report = await log.group(`Verify ${reference}`, () =>
    verifyContainer(host, c.id, settings.verify.health, settings.verify, log, clock),
  );
  return { report, upError: '' };
}

async function beside(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  started: DeployResult,
  x: Context,
  traffic: TrafficReport,
  clock: () => number,
): Promise<DeployResult> {
  const proxy = x.facts.proxy;
  const c = plan.beside!;
  const switchAt = clock();
  const out = await step(host, log, c.start);
  const candidateId = out.trim().split('\n').pop() ?? c.name;
  const candidate = await log.group(`Verify the candidate of ${plan.reference} directly`, () =>
    verifyContainer(host, candidateId, settings.verify.health, settings.verify, log, clock),
  );
  if (!candidate.healthy) {
    await step(host, log, c.remove);
    // Traffic never left the running version. If the candidate moved the schema, the database restore
    // stops the service: requests wait at the proxy meanwhile.
    return afterFailedCandidate(
      host,
      settings,
      log,
      opts,
      plan,
      { ...started, failure: '' },
      {
        facts: x.facts,
        point: x.point,
        preSet: x.preSet,
        candidate,
        detectMs: clock() - switchAt,
        where: 'directly, beside the running version; traffic never reached it',
        around: async (work) => {
          const r = await withRequestsHeld(
            host,
            proxy,
            x.facts.project,
            settings.app.service,
            log,
            settings.deploy.drainTimeoutMs,
            work,
          );
          Object.assign(traffic, { drainMs: r.drainMs, cut: r.cut });
          return r.value;
        },
      },
      clock,
    );
  }
  const container = await host.docker.inspectContainer(candidateId);
  await log.group('Switch traffic to the candidate', async () => {
    await enableSlot(host, proxy, 'candidate', container, log);
    const r = await retireSlot(host, proxy, 'service', log, settings.deploy.drainTimeoutMs);
    Object.assign(traffic, { drainMs: r.drainMs, cut: r.cut });
  });
  await step(host, log, plan.setImage);
  let upError = '';
  await step(host, log, plan.up).catch((err: Error) => (upError = err.message));
  const v = upError ? { report: null } : await verifyService(host, settings, log, x, plan.reference, clock);
  const result: DeployResult = { ...started, verify: v.report, deployedImage: plan.reference };
  result.timings.detectMs = clock() - switchAt;
  if (v.report?.healthy) {
    const service = (await currentContainer(host, x.facts.project, settings.app.service))!;
    await log.group('Switch traffic back to the service', async () => {
      await enableSlot(host, proxy, 'service', service, log);
      const r = await retireSlot(host, proxy, 'candidate', log, settings.deploy.drainTimeoutMs);
      traffic.drainMs += r.drainMs;
      traffic.cut += r.cut;
    });
    await step(host, log, c.remove);
    return { ...result, ok: true, healthy: true };
  }
  // The candidate passed, the service on the same image did not: the candidate still serves. Requests
  // wait at the proxy while it leaves and the service goes back to the previous version.
  result.failure = upError
    ? `compose could not start ${plan.reference}: ${upError.split('\n').slice(0, 3).join(' ')}`
    : `${plan.reference} failed verification as the service after its candidate passed: ${v.report ? failedChecks(v.report) : 'no container'}`;
  const r = await withRequestsHeld(
    host,
    proxy,
    x.facts.project,
    settings.app.service,
    log,
    settings.deploy.drainTimeoutMs,
    async () => {
      await step(host, log, c.remove);
      return recover(host, settings, log, opts, plan, result, x, clock);
    },
    'candidate',
  );
  return r.value;
}

async function held(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  started: DeployResult,
  x: Context,
  traffic: TrafficReport,
  clock: () => number,
): Promise<DeployResult> {
  const proxy = x.facts.proxy;
  const r = await withRequestsHeld(
    host,
    proxy,
    x.facts.project,
    settings.app.service,
    log,
    settings.deploy.drainTimeoutMs,
    async () => {
      // Writes accepted since the pre-deploy backup are in no backup yet, and the migrations about to
      // run may destroy part of them (a dropped column): a restore could then not carry them over. With
      // requests held nothing is written any more, so a database snapshot now is exactly what the
      // migrations start from, and the recovery goes back to it (a re-run keeps its own point).
      let point = x.point;
      if (x.point === x.preSet && x.preSet.manifest.database.kind !== 'none') {
        const snap = await log.group('Snapshot the database now that no request writes', () =>
          takeSnapshot(host, settings, log, opts, {
            id: opts.newId(),
            reason: 'pre-deploy',
            database: true,
            volumes: [],
          }),
        );
        if (!snap.set)
          throw new RefusedError(
            `the database snapshot taken with requests held failed (${snap.result.ok ? '' : snap.result.why}); nothing was switched, the running version serves again`,
          );
        point = snap.set;
      }
      await step(host, log, plan.setImage);
      const switchAt = clock();
      let upError = '';
      await step(host, log, plan.up).catch((err: Error) => (upError = err.message));
      const v = upError
        ? { report: null }
        : await verifyService(host, settings, log, x, plan.reference, clock);
      const result: DeployResult = { ...started, verify: v.report, deployedImage: plan.reference };
      result.timings.detectMs = clock() - switchAt;
      if (v.report?.healthy) return { ...result, ok: true, healthy: true };
      result.failure = upError
        ? `compose could not start ${plan.reference}: ${upError.split('\n').slice(0, 3).join(' ')}`
        : `${plan.reference} failed verification: ${v.report ? failedChecks(v.report) : 'no container'}`;
      return recover(host, settings, log, opts, plan, result, { ...x, point }, clock);
    },
  );
  Object.assign(traffic, { drainMs: r.drainMs, cut: r.cut });
  return r.value;
}

/** The automatic rollback of a failed switch, while requests wait at the proxy. */
async function recover(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  result: DeployResult,
  x: Context,
  clock: () => number,
): Promise<DeployResult> {
  if (!settings.deploy.autoRollback) {
    result.notes.push(
      `auto-rollback is off: ${plan.reference} is left running; backup set ${x.point.manifest.id} holds the previous state`,
    );
    return result;
  }
  const recoveryStart = clock();
  const recovery = recoveryPlan(settings, x.facts, x.point, 'failed-deploy', opts.newId(), plan.reference);
  const rb = await log.group('Automatic rollback (requests held at the proxy)', () =>
    rollbackToSet(host, settings, log, x.facts.project, recovery, opts),
  );
  const out: DeployResult = {
    ...result,
    failedState: rb.failedState,
    parts: rb.parts,
    notes: [...result.notes, ...rb.notes],
    rollbackVerify: rb.verify,
    rolledBack: true,
    deployedImage: rb.image,
    healthy: !!rb.verify?.healthy,
    timings: { ...result.timings, recoveryMs: clock() - recoveryStart },
  };
  if (rb.failedState)
    out.appOutputOnHost = await keepAppOutput(host, log, rb.failedState.dir, [
      { label: `the verification of ${plan.reference}`, report: result.verify },
      { label: 'the verification after the rollback', report: rb.verify },
    ]);
  return out;
}
