import type { DeployResult, TrafficReport } from '../../deploy/result.js';
import { RefusedError } from '../../errors.js';
import type { Log } from '../../log.js';
import type { RemoteHost } from '../../remote-host.js';
import type { Settings } from '../../settings.js';
import type { ProxyFacts } from '../proxy.js';
import { countingHolds, withRequestsHeld } from '../proxy-slots.js';
import { takeSnapshot } from '../snapshot.js';
import { failedChecks } from '../verify.js';
import { heldDuring, verifyService, type SwitchRun } from './context.js';
import { recoverFailedDeploy } from '../recover.js';
import { runGroupedStep } from '../run-step.js';
import { HELD_TITLE } from './context.js';

export async function held(run: SwitchRun): Promise<DeployResult> {
  const { host, settings, log, opts, plan, started, x, clock } = run;
  return heldDuring(run, async () => {
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
    await runGroupedStep(host, log, plan.setImage);
    const switchAt = clock();
    let upError = '';
    await runGroupedStep(host, log, plan.up).catch((err: Error) => (upError = err.message));
    const v = upError ? { report: null } : await verifyService(host, settings, log, x, plan.reference, clock);
    const result: DeployResult = { ...started, verify: v.report, deployedImage: plan.reference };
    result.timings.detectMs = clock() - switchAt;
    if (v.report?.healthy) return { ...result, ok: true, healthy: true };
    result.failure = upError
      ? `compose could not start ${plan.reference}: ${upError.split('\n').slice(0, 3).join(' ')}`
      : `${plan.reference} failed verification: ${v.report ? failedChecks(v.report) : 'no container'}`;
    return recoverFailedDeploy(
      host,
      settings,
      log,
      opts,
      { ...x, point, reference: plan.reference, title: HELD_TITLE },
      result,
      clock,
    );
  });
}

/**
 * A rollback that stops the service (a backup set, an emergency rollback): requests wait at the proxy
 * meanwhile, then go to the restored version (or get 503 with Retry-After after the proxy's bound).
 */
export async function heldRollback<T>(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  proxy: ProxyFacts,
  project: string,
  run: () => Promise<T>,
): Promise<{ value: T; traffic: TrafficReport }> {
  const { value: r, ...counted } = await countingHolds(host, proxy, log, () =>
    withRequestsHeld(host, proxy, project, settings.app.service, log, settings.deploy.drainTimeoutMs, run),
  );
  return {
    value: r.value,
    traffic: {
      switch: 'held',
      why: 'a rollback to a backup set stops the service while it restores',
      ...counted,
      drainMs: r.drainMs,
      cut: r.cut,
    },
  };
}
