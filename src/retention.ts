import type { Manifest } from './manifest.js';

/**
 * Which sets to prune: the newest `keep` verified sets of this project stay; older verified ones go.
 * Unverified or unreadable sets are never pruned here (an operator should look at them), and the set
 * just made is always kept. keep = 0 keeps everything.
 */
export function chooseSetsToPrune(sets: readonly Manifest[], keep: number, justMade: string): Manifest[] {
  if (keep === 0) return [];
  const verified = sets
    .filter((m) => m.verified)
    .sort((a, b) =>
      a.created === b.created ? b.id.localeCompare(a.id) : b.created.localeCompare(a.created),
    );
  return verified.slice(keep).filter((m) => m.id !== justMade);
}
