import { idTime } from '../backup/backup-id.js';
import type { Check } from '../backup/check.js';
import type { DeployResult } from '../deploy/result.js';
import type { RollbackDone } from '../operations/rollback-result.js';
import type { VerifyReport } from '../operations/verify.js';
import { partsAccount, putBackData, type PartOutcome } from '../restore/outcome.js';
import type { AppOutputRef } from './app-output.js';

/**
 * One run as the reports see it (deployment records, annotations, the webhook, the incident note), built
 * from an operation's outcome so that each report is a pure function of it.
 */
export interface RunEvent {
  command: 'deploy' | 'rollback' | 'verify';
  /**
   * deployed / verified: all good. rolled-back: a deploy failed and the previous version was put back.
   * failed: a deploy or verification failed without a rollback. restored / rollback-failed: the rollback
   * command. error: the run stopped on an error (usually before anything changed).
   */
  outcome: 'deployed' | 'verified' | 'rolled-back' | 'failed' | 'restored' | 'rollback-failed' | 'error';
  /** The version asked to deploy, or what the rollback went back to (backup set id or version). */
  requested: string;
  previousImage: string;
  /** What the env file names, so what compose runs, when the run ended. */
  runningImage: string;
  healthy: boolean;
  failure: string;
  /** Checks that failed, without those only skipped because an earlier one failed. */
  failedChecks: Check[];
  /** The failed verification's last health answer (its status) and container state. */
  probe: { lastAnswer: string; container: string } | null;
  /** Where the app's own output of a failed verification is kept (and its text when published). */
  appOutput: AppOutputRef | null;
  /** Checks of the version running after a rollback (empty when there was no rollback). */
  afterChecks: Check[];
  /** What a rollback put back, part by part; `restored` and `notes` say it in words. */
  parts: PartOutcome[];
  restored: string[];
  notes: string[];
  /** Rollback scope (app for a deploy's automatic rollback). */
  scope: string;
  /** The backup set the host was put back to. */
  restoredFrom: { id: string; created: string } | null;
  /** The snapshot of what the rollback overwrote: the point to undo it from. */
  undoSet: { id: string; dir: string; created: string } | null;
  /** A deploy's migrations as its image classified them ('' when none were classified). */
  migrations: string;
}

const failed = (v: VerifyReport | null): Check[] =>
  v ? v.checks.filter((c) => !c.ok && !c.detail.startsWith('not run')) : [];
const probe = (v: VerifyReport | null): RunEvent['probe'] =>
  v && !v.healthy ? { lastAnswer: v.lastAnswer, container: v.container } : null;

/** `20261124T101530Z-3fa9c1` → 2026-11-24T10:15:30Z: backup ids carry their creation time. */
export function createdOfId(id: string): string {
  const t = idTime(id);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().replace('.000Z', 'Z');
}

export function deployEvent(d: DeployResult, version: string): RunEvent {
  return {
    command: 'deploy',
    outcome: d.ok ? 'deployed' : d.rolledBack ? 'rolled-back' : 'failed',
    requested: version,
    previousImage: d.previousImage,
    runningImage: d.deployedImage,
    healthy: d.healthy,
    failure: d.failure,
    failedChecks: failed(d.verify),
    probe: probe(d.verify),
    appOutput: null,
    afterChecks: d.rollbackVerify?.checks ?? [],
    parts: d.parts,
    ...partsAccount(d.parts, d.notes),
    scope: 'app',
    restoredFrom: d.rolledBack
      ? { id: d.preDeploy.manifest.id, created: d.preDeploy.manifest.created }
      : null,
    undoSet: d.failedState
      ? { id: d.failedState.manifest.id, dir: d.failedState.dir, created: d.failedState.manifest.created }
      : null,
    migrations: d.migrations?.class ?? '',
  };
}

export function rollbackEvent(r: RollbackDone): RunEvent {
  const fromSet = r.mode === 'emergency' || r.mode === 'backup-set';
  return {
    command: 'rollback',
    outcome: r.rolledBack && !r.failure ? 'restored' : 'rollback-failed',
    requested: fromSet ? `backup set ${r.target}` : r.target,
    previousImage: r.previousImage,
    runningImage: r.deployedImage,
    healthy: r.healthy,
    failure: r.failure,
    failedChecks: failed(r.verify),
    probe: probe(r.verify),
    appOutput: null,
    afterChecks: r.verify?.checks ?? [],
    parts: r.parts,
    ...partsAccount(r.parts, r.notes),
    scope: r.scope,
    restoredFrom: fromSet ? { id: r.target, created: createdOfId(r.target) } : null,
    undoSet: r.snapshot
      ? { id: r.snapshot.manifest.id, dir: r.snapshot.dir, created: r.snapshot.manifest.created }
      : null,
    migrations: '',
  };
}

export function verifyEvent(image: string, v: VerifyReport): RunEvent {
  return {
    command: 'verify',
    outcome: v.healthy ? 'verified' : 'failed',
    requested: '',
    previousImage: image,
    runningImage: image,
    healthy: v.healthy,
    failure: v.healthy ? '' : 'verification failed',
    failedChecks: failed(v),
    probe: probe(v),
    appOutput: null,
    afterChecks: [],
    parts: [],
    restored: [],
    notes: [],
    scope: '',
    restoredFrom: null,
    undoSet: null,
    migrations: '',
  };
}

/** A run that stopped on an error: what was asked and the error, nothing else is known. */
export function errorEvent(command: RunEvent['command'], requested: string, message: string): RunEvent {
  return {
    command,
    outcome: 'error',
    requested,
    previousImage: '',
    runningImage: '',
    healthy: false,
    failure: message,
    failedChecks: [],
    probe: null,
    appOutput: null,
    afterChecks: [],
    parts: [],
    restored: [],
    notes: [],
    scope: '',
    restoredFrom: null,
    undoSet: null,
    migrations: '',
  };
}

/** A rollback happened: the deploy's automatic one, or the rollback command having restored something. */
export const rolledBack = (e: RunEvent): boolean =>
  e.outcome === 'rolled-back' || (e.command === 'rollback' && e.parts.some((p) => p.status === 'restored'));

/** Data (the database or a volume) was put back, so writes made since the restored set are no longer live. */
export const dataRestored = (e: RunEvent): boolean => putBackData(e.parts);

/** The failed checks as one line: `check: detail; check: detail`. */
export const checksLine = (checks: readonly Check[]): string =>
  checks.map((c) => `${c.check}: ${c.detail}`).join('; ');
