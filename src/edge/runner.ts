import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { newBackupId } from '../backup/backup-id.js';
import { SECRET_INPUTS } from '../inputs/catalogue.js';
import { envInput, parseSettings } from '../inputs/parse.js';
import { commandSafe, flatGroups, type Log } from '../log.js';
import type { PendingCleanup } from '../operations/backup.js';
import type { DeployOptions } from '../deploy/result.js';
import type { StoppedService } from '../operations/rollback-to-set.js';
import type { Settings } from '../settings.js';
import { TOOL_VERSION } from '../version.js';

/** The runner as the action sees it: its log, its secrets, its saved state, its temp dir. */

export const coreLog: Log = {
  info: (m) => core.info(commandSafe(m)),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  group: flatGroups({
    start: (title) => core.startGroup(title),
    end: () => core.endGroup(),
    line: (text) => core.info(commandSafe(text)),
  }),
};

const URL_PASSWORD = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]+)@/;

/** The values of the secret inputs (a database URL's password too): masked in the log and in published app output. */
export function secretValues(): string[] {
  return SECRET_INPUTS.flatMap((name) => {
    const value = core.getInput(name);
    const urlPassword = URL_PASSWORD.exec(value)?.[1];
    return [value, ...(urlPassword ? [decodeURIComponent(urlPassword)] : [])];
  }).filter(Boolean);
}

/** Masks each secret and each of its lines: the runner matches masks line by line in multi-line values. */
export function maskSecrets(): void {
  for (const value of secretValues()) {
    core.setSecret(value);
    for (const line of value.split('\n')) if (line.trim().length >= 8) core.setSecret(line.trim());
  }
}

export function readSettings(): Settings {
  maskSecrets();
  return parseSettings(envInput(process.env), process.env);
}

/**
 * What the main step leaves for its post step (GITHUB_STATE), typed: a half-written set to remove, the
 * host lock to release, the container an interrupted rollback stopped. One place reads and writes it.
 */
export const runnerState = {
  markMain: (): void => core.saveState('isPost', 'true'),
  isPost: (): boolean => core.getState('isPost') === 'true',
  savePending: (p: PendingCleanup | null): void => core.saveState('pending', p ? JSON.stringify(p) : ''),
  pending: (): PendingCleanup | null => parse<PendingCleanup>('pending'),
  saveLock: (l: { dir: string; token: string } | null): void =>
    core.saveState('lock', l ? JSON.stringify(l) : ''),
  lock: (): { dir: string; token: string } | null => parse('lock'),
  /** What the post step needs to start a service an interrupted rollback stopped (see resume.ts). */
  saveStopped: (s: StoppedService | null): void => core.saveState('stopped', s ? JSON.stringify(s) : ''),
  stopped: (): StoppedService | null => parse<StoppedService>('stopped'),
};

function parse<T>(name: string): T | null {
  const raw = core.getState(name);
  return raw ? (JSON.parse(raw) as T) : null;
}

/** Deploy and rollback: new set ids from the clock, and what the post step needs if they are cut off. */
export const CHANGE_OPTIONS: DeployOptions = {
  newId: () => newBackupId(new Date()),
  now: () => new Date(),
  toolVersion: TOOL_VERSION,
  onPending: runnerState.savePending,
  onStopped: runnerState.saveStopped,
};

/** A directory of this run under RUNNER_TEMP: what is uploaded, and what is kept on the runner only. */
export function workDir(name: string): string {
  const dir = join(process.env.RUNNER_TEMP || tmpdir(), 'eqmd-rollback', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
