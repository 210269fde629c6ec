import * as core from '@actions/core';
import { cleanupStep } from './backup/set-steps.js';
import { lockOwnedStep, releaseStep } from './lock/commands.js';
import { sweepHelpers } from './operations/lock.js';
import { resumeService } from './operations/resume.js';
import type { StoppedService } from './operations/rollback-to-set.js';
import { runStep } from './operations/run-step.js';
import { openHost } from './ssh/open.js';
import { coreLog, readSettings, runnerState } from './edge/runner.js';

/**
 * Runs after the job's other steps, even when the main step was cancelled or failed. If the main step
 * stopped while a backup set was half-written, remove it (and its helper containers and image tag); if
 * it stopped while holding the host lock, release it (only ours: the token must match). Cleanup only
 * warns: it must never turn a job red by itself.
 */
export async function post(): Promise<void> {
  const pending = runnerState.pending();
  const lock = runnerState.lock();
  if (!pending && !lock) {
    core.info('eqmd-rollback post: nothing left to clean up');
    return;
  }
  try {
    const settings = readSettings();
    const { host } = await openHost(settings.connection, coreLog);
    try {
      if (pending) {
        await runStep(
          host,
          cleanupStep(pending.paths, pending.id, pending.tag, pending.appContainerId),
          coreLog,
        );
        core.info(`removed the unfinished backup set ${pending.paths.tmp}`);
      }
      if (lock) {
        // The main step ended holding the lock: it was interrupted. While the lock is still ours, what
        // its helpers left goes, and the service is started again if the run stopped it and that is safe.
        const ours = (await runStep(host, lockOwnedStep(lock.dir, lock.token), coreLog))
          .toString()
          .includes('state=ours');
        if (ours) {
          await sweepHelpers(host, settings, coreLog);
          await resume(host, settings, runnerState.stopped());
        }
        const out = (await runStep(host, releaseStep(lock.dir, lock.token), coreLog)).toString();
        core.info(
          out.includes('state=released')
            ? `released the host lock ${lock.dir} left by the main step`
            : 'the host lock was already released',
        );
      }
    } finally {
      await host.close();
    }
  } catch (err) {
    core.warning(`post-step cleanup did not finish: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function resume(
  host: Parameters<typeof resumeService>[0],
  settings: ReturnType<typeof readSettings>,
  stopped: StoppedService | null,
): Promise<void> {
  if (settings.command !== 'deploy' && settings.command !== 'rollback') return;
  try {
    const { decision, healthy } = await resumeService(host, settings, coreLog, stopped);
    const service = settings.app.service;
    if (decision.action === 'leave') core.error(`service ${service} is down: ${decision.why}`);
    else if (decision.action === 'start')
      (healthy ? core.warning : core.error)(
        `service ${service}: ${decision.why}; ${healthy ? 'healthy' : 'NOT healthy'}`,
      );
    else core.info(`service ${service}: ${decision.why}`);
  } catch (err) {
    core.warning(`could not check the service after the interrupted run: ${(err as Error).message}`);
  }
}
