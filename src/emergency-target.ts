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

/** Events a person starts. Anything else (push, workflow_run, schedule, none) is an automation's. */
export const OPERATOR_EVENTS: readonly string[] = ['workflow_dispatch', 'repository_dispatch'];

/** Sets a deploy makes: one of these in a rollback's own run means the rollback followed that deploy. */
const DEPLOY_REASONS: readonly string[] = [
  'pre-deploy',
  'interrupted-deploy',
  'failed-deploy',
  'failed-candidate',
];

/**
 * When the last change on the host was an operator's rollback to a named version or set, an
 * emergency rollback undoes it: it returns to the version that rollback replaced (which passed
 * verification when it was deployed) by deploying it again, migrations forward, over the records
 * written since. The snapshot that rollback took says what it replaced; it qualifies only when
 * - it is the newest verified set apart from manual backups (anything later is a newer change);
 * - its rollback was a named one (an emergency rollback is never undone: two in a row must not bring
 *   a broken release back) started by a person (`workflow_dispatch`, `repository_dispatch`);
 * - no deploy ran in the same workflow run before it: that is a smoke-test rollback of a release
 *   that failed its checks, never a version to return to;
 * - it holds another image than the running one, named `repository:tag` (a deploy names a tag).
 * Returns the snapshot and the reference to deploy, or null.
 */
export function undoableRollback(
  setsNewestFirst: readonly Manifest[],
  runningImageId: string,
): { target: Manifest; reference: string } | null {
  const last = setsNewestFirst.find((m) => m.verified && m.reason !== 'manual');
  if (!last || !runningImageId || last.reason !== 'pre-restore') return null;
  if (last.rollbackMode !== 'version' && last.rollbackMode !== 'backup-set') return null;
  if (!OPERATOR_EVENTS.includes(last.run.event) || last.image.id === runningImageId) return null;
  const sameRun = (m: Manifest) => m.run.runId === last.run.runId && m.run.repository === last.run.repository;
  if (!last.run.runId || setsNewestFirst.some((m) => DEPLOY_REASONS.includes(m.reason) && sameRun(m)))
    return null;
  const reference = last.image.envValue || last.image.reference;
  return taggedReference(reference) ? { target: last, reference } : null;
}

/** `repository:tag` without a digest: what a deploy can name again. */
export function taggedReference(reference: string): { repository: string; tag: string } | null {
  if (reference.includes('@')) return null;
  const colon = reference.lastIndexOf(':');
  if (colon <= reference.lastIndexOf('/')) return null;
  return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}

export type EmergencyChoice =
  { kind: 'set'; target: Manifest } | { kind: 'undo'; target: Manifest; reference: string };

/** An emergency rollback's choice: undo an operator's rollback, else go back to a set. */
export function emergencyChoice(
  setsNewestFirst: readonly Manifest[],
  runningImageId: string,
): EmergencyChoice | null {
  const undo = undoableRollback(setsNewestFirst, runningImageId);
  if (undo) return { kind: 'undo', ...undo };
  const target = emergencyTarget(setsNewestFirst, runningImageId);
  return target ? { kind: 'set', target } : null;
}
