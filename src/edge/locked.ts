import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import { lockDir } from '../lock/commands.js';
import { acquireLock } from '../operations/lock.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { coreLog, runnerState } from './runner.js';

/**
 * Runs `fn` holding the project's host lock. The lock is saved to the runner's state before it is
 * taken: if this step is killed while holding it, the post step releases it. A failed release only warns.
 */
export async function withLock<T>(settings: Settings, host: RemoteHost, fn: () => Promise<T>): Promise<T> {
  const token = `${settings.run.runId || 'local'}-${randomBytes(8).toString('hex')}`;
  runnerState.saveLock({ dir: lockDir(settings.app.projectDir), token });
  const lock = await acquireLock(host, settings, coreLog, token);
  try {
    return await fn();
  } finally {
    await lock.release().then(
      () => runnerState.saveLock(null),
      (err: Error) => core.warning(`could not release the host lock ${lock.dir}: ${err.message}`),
    );
  }
}
