import * as core from '@actions/core';
import { cleanupStep } from './backup/commands.js';
import type { PendingCleanup } from './operations/backup.js';
import { runStep } from './operations/run-step.js';
import { openHost } from './ssh/open.js';
import { coreLog, readSettings } from './main.js';

/**
 * Runs after the job's other steps, even when the main step was cancelled or failed. If the main step
 * stopped while a backup set was half-written, remove it (and its helper containers and image tag) so
 * no partial set is left behind. Cleanup only warns: it must never turn a job red by itself.
 */
export async function post(): Promise<void> {
  const raw = core.getState('pending');
  if (!raw) {
    core.info('eqmd-rollback post: nothing left to clean up');
    return;
  }
  try {
    const pending = JSON.parse(raw) as PendingCleanup;
    const settings = readSettings();
    const { host } = await openHost(settings.connection, coreLog);
    try {
      await runStep(
        host,
        cleanupStep(pending.paths, pending.id, pending.tag, pending.appContainerId),
        coreLog,
      );
      core.info(`removed the unfinished backup set ${pending.paths.tmp}`);
    } finally {
      await host.close();
    }
  } catch (err) {
    core.warning(`post-step cleanup did not finish: ${err instanceof Error ? err.message : String(err)}`);
  }
}
