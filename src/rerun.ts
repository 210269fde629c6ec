import type { Manifest } from './manifest.js';
import type { RunInfo } from './settings.js';

/**
 * A re-run of a workflow run (GitHub's "Re-run jobs": same run id, higher attempt) must converge on
 * what the interrupted attempt set out to do, not start over from the half-changed state it left.
 * The sets the earlier attempts made are their journal: each manifest records its run.
 *
 * Returns those sets, newest first, but only while they are the newest sets on the host: once any
 * other run changed something after them, they describe a past that no longer holds, and a re-run
 * decides afresh.
 */
export function setsOfEarlierAttempts(setsNewestFirst: readonly Manifest[], run: RunInfo): Manifest[] {
  const attempt = Number(run.runAttempt);
  if (!run.runId || !Number.isInteger(attempt) || attempt < 2) return [];
  const out: Manifest[] = [];
  for (const m of setsNewestFirst) {
    const same =
      m.run?.runId === run.runId && m.run.repository === run.repository && Number(m.run.runAttempt) < attempt;
    if (!same) break;
    out.push(m);
  }
  return out;
}

/**
 * A deploy's rollback point on a re-run: the first pre-deploy set of the interrupted attempts, the
 * state before this run changed anything. (The re-run still backs up the current state first.)
 */
export function deployRollbackPoint(setsNewestFirst: readonly Manifest[], run: RunInfo): Manifest | null {
  const earlier = setsOfEarlierAttempts(setsNewestFirst, run).filter(
    (m) => m.reason === 'pre-deploy' && m.verified,
  );
  return earlier.at(-1) ?? null;
}

/**
 * An emergency rollback's target on a re-run: the set the first interrupted attempt was restoring
 * (recorded in its pre-restore snapshot). Without it, a re-run after a finished restore would "undo
 * the last change" once more and roll back one version too far.
 */
export function unfinishedRestoreTarget(setsNewestFirst: readonly Manifest[], run: RunInfo): string | null {
  const earlier = setsOfEarlierAttempts(setsNewestFirst, run).filter(
    (m) => m.reason === 'pre-restore' && m.restoreTarget,
  );
  return earlier.at(-1)?.restoreTarget ?? null;
}
