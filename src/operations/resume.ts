import type { ContainerInfo } from '../docker-api.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { gatherFacts } from './facts.js';
import type { StoppedService } from './rollback-to-set.js';
import { verifyContainer } from './verify.js';

export type ResumeDecision =
  | { action: 'none'; why: string }
  | { action: 'start'; containerId: string; why: string }
  | { action: 'leave'; why: string };

/**
 * What the post step does about the service after the main step was interrupted. Starting the
 * container a rollback stopped is safe only while nothing had been overwritten: it is then exactly the
 * state before the rollback. After that, an old container could run one release against another's
 * data (a medical record app must rather stay down, said loudly, until the re-run finishes the job).
 */
export function resumeDecision(
  stopped: StoppedService | null,
  containers: readonly ContainerInfo[],
): ResumeDecision {
  const running = containers.find((c) => c.running);
  if (running) return { action: 'none', why: `${running.name} is running` };
  const rerun = 're-run this job: a deploy then rolls back to where it started, a rollback finishes';
  if (!stopped)
    return {
      action: 'leave',
      why: `the service has no running container (the interrupted run was cut off while compose recreated it); ${rerun}`,
    };
  if (stopped.overwriting)
    return {
      action: 'leave',
      why:
        `the interrupted rollback to ${stopped.target} had begun overwriting (env file, database, volumes, image), ` +
        `so starting the old container could run a release against data it does not match; it stays stopped: ${rerun}`,
    };
  if (!containers.some((c) => c.id === stopped.containerId))
    return { action: 'leave', why: `the container the rollback stopped is gone; ${rerun}` };
  return {
    action: 'start',
    containerId: stopped.containerId,
    why: `the interrupted rollback to ${stopped.target} had stopped it but overwritten nothing: started again as it was`,
  };
}

/** Applies the decision on the host: starts the container and verifies it, when that is safe. */
export async function resumeService(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  stopped: StoppedService | null,
): Promise<{ decision: ResumeDecision; healthy: boolean | null }> {
  const facts = await gatherFacts(host, settings, log);
  const containers = await host.docker.serviceContainers(facts.project, settings.app.service);
  const decision = resumeDecision(stopped, containers);
  if (decision.action !== 'start') return { decision, healthy: null };
  await host.docker.startContainer(decision.containerId);
  const report = await verifyContainer(
    host,
    decision.containerId,
    settings.verify.health,
    settings.verify,
    log,
  );
  return { decision, healthy: report.healthy };
}
