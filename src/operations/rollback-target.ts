import { emergencyChoice } from '../emergency-target.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import type { Manifest, RollbackMode } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { unfinishedRestoreTarget } from '../rerun.js';
import type { Settings } from '../settings.js';
import type { Facts } from './facts.js';
import { readSets } from './list.js';

export type { RollbackMode };

/** Where a rollback from a set goes: a set to restore, or the version an operator's rollback replaced. */
export type RollbackChoice =
  | { mode: 'emergency' | 'backup-set'; target: Manifest }
  | { mode: 'undo'; target: Manifest; reference: string };

/**
 * The set a rollback from a set goes back to: the one named by backup-id, or for an emergency the
 * newest verified set holding another image than the running one (or the set an interrupted attempt
 * of this run was restoring), or, right after an operator's rollback, the version it replaced (see
 * undoableRollback). Refuses, changing nothing, when there is none.
 */
export async function chooseTarget(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  facts: Facts,
  now: Date,
): Promise<RollbackChoice> {
  const { sets, unreadable } = await readSets(
    host,
    facts.backupDir,
    facts.project,
    settings.app.service,
    log,
  );
  const id = settings.rollback.backupId;
  if (id) {
    const target = sets.find((m) => m.id === id);
    if (!target) {
      const bad = unreadable.find((u) => u.startsWith(`${id}:`));
      throw new RefusedError(
        bad
          ? `backup set ${bad}; nothing was changed`
          : `no backup set ${id} of project ${facts.project} in ${facts.backupDir} (sets of other projects are never restored here); nothing was changed`,
      );
    }
    if (!target.verified)
      throw new RefusedError(`backup set ${target.id} was never verified; nothing was changed`);
    return { mode: 'backup-set', target };
  }
  const resumed = unfinishedRestoreTarget(sets, settings.run);
  const running =
    facts.container?.imageId ?? (await host.docker.inspectImage(facts.probe.imageVariable))?.id ?? '';
  const resumedSet = resumed ? sets.find((m) => m.id === resumed && m.verified) : undefined;
  if (resumedSet) {
    log.info(
      `re-run (attempt ${settings.run.runAttempt}) of run ${settings.run.runId}: finishing the rollback to ${resumed} that an earlier attempt started`,
    );
    return { mode: 'emergency', target: resumedSet };
  }
  const choice = emergencyChoice(sets, running);
  if (choice?.kind === 'undo') {
    log.info(
      `the last change was a rollback an operator ran (${choice.target.rollbackMode}, run ${choice.target.run.runId}): ` +
        `undoing it means deploying ${choice.reference} again, the version it replaced (snapshot ${choice.target.id})`,
    );
    return { mode: 'undo', target: choice.target, reference: choice.reference };
  }
  const target = choice?.target;
  if (!target) {
    throw new RefusedError(
      `no verified backup set of ${facts.project} holds an image other than the running one, apart from ` +
        'failed releases and states a rollback or an interrupted deploy replaced; nothing to roll back to; ' +
        `nothing was changed. ${candidateList(sets, now)}`,
    );
  }
  return { mode: 'emergency', target };
}

/**
 * The sets an operator could name instead, newest first (at most 10): id, image, reason, age. They are
 * validated manifests, so every field has its grammar.
 */
export function candidateList(setsNewestFirst: readonly Manifest[], now: Date): string {
  const verified = setsNewestFirst.filter((m) => m.verified).slice(0, 10);
  if (!verified.length) return 'There is no verified backup set of this project to name either.';
  const age = (m: Manifest) => {
    const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(m.created)) / 60_000));
    return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
  };
  return (
    'To restore one of these, run the rollback with backup-id set to its id: ' +
    verified.map((m) => `${m.id} (${m.image.reference}, ${m.reason}, ${age(m)})`).join('; ') +
    '.'
  );
}
