import { recoveryPlan } from '../deploy/plan.js';
import type { DeployOptions, DeployResult } from '../deploy/result.js';
import type { Log } from '../log.js';
import type { ContainerInfo, ImageInfo } from '../docker-api.js';
import type { RemoteHost } from '../remote-host.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { keepAppOutput } from './app-output.js';
import type { Facts } from './facts.js';
import { rollbackToSet } from './rollback-to-set.js';

/**
 * The automatic rollback of a failed deploy to its pre-deploy set (or the note that it is off), for
 * every strategy: the recovery plan made from the same look at the host, what the app said kept in
 * the failed-state set on the host.
 */
export async function recoverFailedDeploy(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  x: {
    reference: string;
    facts: Facts;
    point: SetOnHost;
    title: string;
    /** The look refreshed by what the switch changed, when the caller knows it (see rollbackToSet). */
    afterSwitch?: Facts;
  },
  result: DeployResult,
  clock: () => number,
): Promise<DeployResult> {
  if (!settings.deploy.autoRollback)
    return {
      ...result,
      notes: [
        ...result.notes,
        `auto-rollback is off: ${x.reference} is left running; backup set ${x.point.manifest.id} holds the previous state`,
      ],
    };
  const recoveryStart = clock();
  const recovery = recoveryPlan(settings, x.facts, x.point, 'failed-deploy', opts.newId(), x.reference);
  const rb = await log.group(x.title, () =>
    rollbackToSet(host, settings, log, x.facts.project, recovery, {
      ...opts,
      ...(x.afterSwitch ? { facts: x.afterSwitch } : {}),
    }),
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
      { label: `the verification of ${x.reference}`, report: result.verify },
      { label: 'the verification after the rollback', report: rb.verify },
    ]);
  return out;
}

/**
 * The deploy's look at the host, refreshed by what its switch changed, on purpose instead of a second
 * look: the env file names the release, and the service runs the container just verified, from its
 * image (the pulled one, unless compose left another in place).
 */
export async function lookAfterSwitch(
  host: RemoteHost,
  facts: Facts,
  reference: string,
  container: ContainerInfo | null,
  pulled: ImageInfo | null,
): Promise<Facts | null> {
  if (!container) return null;
  return {
    ...facts,
    probe: { ...facts.probe, imageVariable: reference, containerIds: [container.id] },
    container,
    image: container.imageId === pulled?.id ? pulled : await host.docker.inspectImage(container.imageId),
  };
}
