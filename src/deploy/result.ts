import type { ManifestReason, RollbackMode } from '../manifest.js';
import type { MigrationReport } from '../migrations/classify.js';
import type { BackupOptions } from '../operations/backup.js';
import type { Facts } from '../operations/facts.js';
import type { RollbackOptions } from '../operations/rollback-to-set.js';
import type { VerifyReport } from '../operations/verify.js';
import type { PartOutcome } from '../restore/outcome.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';

export interface DeployOptions {
  /** Reason recorded on the safety backup: pre-deploy, or pre-restore for a rollback to a version. */
  reason?: ManifestReason;
  /** A deploy that is a rollback to a named version records so on its safety backup. */
  rollbackMode?: RollbackMode;
  newId: () => string;
  now: () => Date;
  toolVersion: string;
  onPending?: BackupOptions['onPending'];
  onStopped?: RollbackOptions['onStopped'];
  clock?: () => number;
  /** The caller's look at the host, taken under the same lock (an emergency rollback's undo). */
  facts?: Facts;
}

/** strategy zero-downtime: how the switch went through the proxy, as the proxy counted it. */
export interface TrafficReport {
  /** beside: a candidate took the traffic while the service was recreated; held: requests waited. */
  switch: 'beside' | 'held';
  why: string;
  /** Requests that waited at the proxy, the longest wait, and those answered 503 after the bound. */
  held: number;
  longestHoldMs: number;
  refused: number;
  /** Time spent letting in-flight requests finish on versions leaving rotation; those cut at the bound. */
  drainMs: number;
  cut: number;
}

export interface DeployResult {
  dryRun: false;
  /** The new version is running and verified. */
  ok: boolean;
  previousImage: string;
  /** What the env file names (and compose runs) at the end. */
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  strategy: Settings['deploy']['strategy'];
  preDeploy: SetOnHost;
  failedState: SetOnHost | null;
  verify: VerifyReport | null;
  rollbackVerify: VerifyReport | null;
  /** The release's migrations as its image classified them (null: not classified). */
  migrations: MigrationReport | null;
  /** What the recovery put back (empty when there was none). */
  parts: PartOutcome[];
  notes: string[];
  failure: string;
  timings: { totalMs: number; detectMs: number | null; recoveryMs: number | null };
  /** Where the app's output of the failed verification is kept on the host (null: nothing kept there). */
  appOutputOnHost: string | null;
  /** strategy zero-downtime: the switch through the proxy (absent otherwise). */
  traffic?: TrafficReport;
}

export type DeployOutcome = { dryRun: true; plan: string } | DeployResult;
