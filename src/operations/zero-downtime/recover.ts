import { recoveryPlan, type DeployPlan } from '../../deploy/plan.js';
import type { DeployOptions, DeployResult } from '../../deploy/result.js';
import type { Log } from '../../log.js';
import type { RemoteHost } from '../../remote-host.js';
import type { Settings } from '../../settings.js';
import { keepAppOutput } from '../app-output.js';
import { rollbackToSet } from '../rollback-to-set.js';
import type { Context } from './context.js';

/** The automatic rollback of a failed switch, while requests wait at the proxy. */
export async function recover(
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
