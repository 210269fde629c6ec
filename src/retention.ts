import { emergencyTarget, undoableRollback } from './emergency-target.js';
import type { Manifest } from './manifest.js';

/** Snapshots that hold data written after other backups (later rows, uploads): kept at least a day. */
const SNAPSHOT_REASONS = ['pre-restore', 'failed-deploy', 'failed-candidate', 'interrupted-deploy'];
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionContext {
  /** The set just made: never pruned by its own run. */
  justMade: string;
  now: Date;
  /** Image id the service runs now ('' when unknown). */
  runningImageId: string;
}

const newestFirst = (a: Manifest, b: Manifest) =>
  a.created === b.created ? b.id.localeCompare(a.id) : b.created.localeCompare(a.created);

/**
 * Which sets to prune: the newest `keep` verified sets of this project stay, and so do
 * - the set the running version was deployed from (the newest pre-deploy set): its rollback point;
 * - the newest set holding an image other than the running one, and the snapshot of an operator's
 *   rollback that an emergency rollback would undo: the emergency rollback's targets;
 * - snapshots (pre-restore, failed states) younger than a day: the only copy of later writes.
 * Unverified or unreadable sets are never pruned here (an operator should look at them). keep = 0
 * keeps everything.
 */
export function chooseSetsToPrune(
  sets: readonly Manifest[],
  keep: number,
  ctx: RetentionContext,
): Manifest[] {
  if (keep === 0) return [];
  const verified = sets.filter((m) => m.verified).sort(newestFirst);
  const protectedIds = new Set<string>([ctx.justMade]);
  const deployedFrom = verified.find((m) => m.reason === 'pre-deploy');
  if (deployedFrom) protectedIds.add(deployedFrom.id);
  const emergency = emergencyTarget(verified, ctx.runningImageId);
  if (emergency) protectedIds.add(emergency.id);
  // The snapshot of an operator's rollback tells the emergency rollback what to undo it to.
  const undo = undoableRollback(verified, ctx.runningImageId);
  if (undo) protectedIds.add(undo.target.id);
  for (const m of verified) {
    if (SNAPSHOT_REASONS.includes(m.reason) && ctx.now.getTime() - Date.parse(m.created) < DAY_MS)
      protectedIds.add(m.id);
  }
  return verified.slice(keep).filter((m) => !protectedIds.has(m.id));
}
