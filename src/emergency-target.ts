import { ROLLED_AWAY_REASONS, type Manifest } from './manifest.js';

/**
 * An emergency rollback's target, "undo the last change": the newest verified set whose image differs
 * from the running one and that holds no state something was rolled away from (a failed release, what
 * a rollback replaced, the half-done state of an interrupted deploy). Retention keeps this set too.
 */
export function emergencyTarget(
  setsNewestFirst: readonly Manifest[],
  runningImageId: string,
): Manifest | null {
  if (!runningImageId) return null;
  return (
    setsNewestFirst.find(
      (m) => m.verified && m.image.id !== runningImageId && !ROLLED_AWAY_REASONS.includes(m.reason),
    ) ?? null
  );
}
