import * as core from '@actions/core';
import { cleanupStep } from './backup/commands.js';
import { releaseStep } from './lock/commands.js';
import { sweepHelpers } from './operations/lock.js';
import type { PendingCleanup } from './operations/backup.js';
import { runStep } from './operations/run-step.js';
import { openHost } from './ssh/open.js';
import { coreLog, readSettings } from './main.js';

/**
 * Runs after the job's other steps, even when the main step was cancelled or failed. If the main step
 * stopped while a backup set was half-written, remove it (and its helper containers and image tag); if
 * it stopped while holding the host lock, release it (only ours: the token must match). Cleanup only
 * warns: it must never turn a job red by itself.
 */
export async function post(): Promise<void> {
  const rawPending = core.getState('pending');
  const rawLock = core.getState('lock');
  if (!rawPending && !rawLock) {
    core.info('eqmd-rollback post: nothing left to clean up');
    return;
  }
  try {
    const settings = readSettings();
    const { host } = await openHost(settings.connection, coreLog);
    try {
      if (rawPending) {
        const pending = JSON.parse(rawPending) as PendingCleanup;
        await runStep(
          host,
          cleanupStep(pending.paths, pending.id, pending.tag, pending.appContainerId),
          coreLog,
        );
        core.info(`removed the unfinished backup set ${pending.paths.tmp}`);
      }
      if (rawLock) {
        const lock = JSON.parse(rawLock) as { dir: string; token: string };
        // Still ours (the token is checked on release): what the main step's helpers left goes first.
        await sweepHelpers(host, settings.app.projectDir, coreLog, lock);
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
