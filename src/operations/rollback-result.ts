import type { TrafficReport } from '../deploy/result.js';
import type { PartOutcome } from '../restore/outcome.js';
import type { SetOnHost } from '../restore/plan.js';
import type { RollbackMode } from './rollback-target.js';
import type { VerifyReport } from './verify.js';

/** What a rollback did, as data: sentences are written where it is shown (summary, event, logs). */
export interface RollbackDone {
  dryRun: false;
  /** undo: an emergency rollback that undid an operator's rollback by deploying what it replaced. */
  mode: RollbackMode | 'undo';
  /** For an undo: the snapshot of the rollback undone. */
  undid: string | null;
  /** The set or version rolled back to. */
  target: string;
  scope: string;
  previousImage: string;
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  /** The pre-restore snapshot (or, for a version, the safety backup). */
  snapshot: SetOnHost | null;
  parts: PartOutcome[];
  notes: string[];
  verify: VerifyReport | null;
  failure: string;
  /** Where the app's output of a failed verification is kept on the host (null: nothing kept there). */
  appOutputOnHost: string | null;
  /** strategy zero-downtime: the switch through the proxy (absent otherwise). */
  traffic?: TrafficReport;
}

export type RollbackOutcome = { dryRun: true; plan: string } | RollbackDone;
