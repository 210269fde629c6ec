import { decideDatabaseRestore } from '../deploy/decide.js';
import { recoveryPlan, type DeployPlan } from '../deploy/plan.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { keepAppOutput } from './app-output.js';
import type { DeployOptions, DeployResult } from '../deploy/result.js';
import { runStep } from './run-step.js';
import type { Facts } from './facts.js';
import { rollbackToSet } from './rollback-to-set.js';
import { currentContainer } from './service.js';
import { takeSnapshot } from './snapshot.js';
import { failedChecks, verifyContainer, type VerifyReport } from './verify.js';

/**
 * A blue-green candidate failed; production was never switched. The candidate shares production's
 * database, so a migration it ran must not stay behind: look first (a snapshot while production keeps
 * serving) and stop production to restore only if the schema moved.
 */
export async function afterFailedCandidate(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  started: DeployResult,
  x: {
    facts: Facts;
    point: SetOnHost;
    preSet: SetOnHost;
    candidate: VerifyReport;
    detectMs: number;
    /** Where the candidate was verified (default: on the staging port). */
    where?: string;
    /** Runs the database restore (which stops production): zero-downtime holds requests around it. */
    around?: <T>(work: () => Promise<T>) => Promise<T>;
  },
  clock: () => number,
): Promise<DeployResult> {
  const d = settings.deploy;
  const where = x.where ?? `on port ${plan.candidate?.port}`;
  const around = x.around ?? (<T>(work: () => Promise<T>) => work());
  const result: DeployResult = {
    ...started,
    verify: x.candidate,
    timings: { ...started.timings, detectMs: x.detectMs },
    failure: `the candidate of ${plan.reference} failed verification ${where} (${failedChecks(x.candidate)}); production was never switched`,
    notes: [...started.notes, 'production kept running the previous version throughout'],
  };
  if (d.autoRollback && x.preSet.manifest.database.kind !== 'none') {
    const snapshot = await takeSnapshot(host, settings, log, opts, {
      id: opts.newId(),
      reason: 'failed-candidate',
      database: true,
      volumes: [],
    });
    if (snapshot.set) result.failedState = snapshot.set;
    const decision = decideDatabaseRestore(
      d.restoreDatabase,
      x.point.manifest.database,
      snapshot.result,
      x.point.manifest.migrations,
    );
    log.info(`database after the failed candidate: ${decision.why}`);
    if (decision.action !== 'keep') {
      const recoveryStart = clock();
      const recovery = recoveryPlan(
        settings,
        x.facts,
        x.point,
        'failed-candidate',
        opts.newId(),
        plan.reference,
      );
      const rb = await around(() => rollbackToSet(host, settings, log, x.facts.project, recovery, opts));
      result.failedState = rb.failedState ?? result.failedState;
      // The env file and the image were put back to what production already ran: only data moved.
      result.parts = rb.parts.filter((p) => p.part === 'database' || p.part === 'volume');
      result.notes.push(
        ...rb.notes,
        'production was stopped briefly to restore the database the candidate had migrated',
      );
      result.rollbackVerify = rb.verify;
      result.rolledBack = true;
      result.healthy = !!rb.verify?.healthy;
      result.timings.recoveryMs = clock() - recoveryStart;
    } else {
      result.notes.push(`database left as it is: ${decision.why}`);
      result.healthy = await productionHealthy(host, settings, log, x.facts.project);
    }
  } else {
    result.healthy = await productionHealthy(host, settings, log, x.facts.project);
  }
  if (result.failedState)
    result.appOutputOnHost = await keepAppOutput(host, log, result.failedState.dir, [
      { label: `the candidate of ${plan.reference}`, report: x.candidate },
      { label: 'production after the database restore', report: result.rollbackVerify },
    ]);
  return result;
}

async function productionHealthy(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  project: string,
): Promise<boolean> {
  const c = await currentContainer(host, project, settings.app.service);
  if (!c) return false;
  const r = await log.group('Verify production', () =>
    verifyContainer(host, c.id, settings.verify.health, settings.verify, log),
  );
  return r.healthy;
}

/** blue-green: start the candidate beside production, verify it, remove it; the report when it failed. */
export async function tryCandidate(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  plan: DeployPlan,
  clock: () => number,
): Promise<{ report: VerifyReport; detectMs: number } | null> {
  const c = plan.candidate!;
  const switchAt = clock();
  const out = (await log.group(c.start.title, () => runStep(host, c.start, log))).toString();
  const candidateId = out.trim().split('\n').pop() ?? c.name;
  const report = await log.group(`Verify the candidate on port ${c.port}`, () =>
    verifyContainer(
      host,
      candidateId,
      { ...settings.verify.health, port: c.port },
      settings.verify,
      log,
      clock,
    ),
  );
  await log.group(c.remove.title, () => runStep(host, c.remove, log));
  return report.healthy ? null : { report, detectMs: clock() - switchAt };
}
