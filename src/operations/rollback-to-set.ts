import type { Step } from '../backup/steps.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { PartOutcome } from '../restore/outcome.js';
import type { RestorePlan, SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import type { Facts } from './facts.js';
import { rollBackDatabase } from './rollback-database.js';
import { whyRestoreCannotRun } from './restore-proof.js';
import { runGroupedStep } from './run-step.js';
import { ensureSetImage } from './set-image.js';
import { currentContainer } from './service.js';
import { takeSnapshot, type SnapshotOptions } from './snapshot.js';
import { verifyContainer, type VerifyReport } from './verify.js';

export interface RollbackResult {
  verify: VerifyReport | null;
  /** The pre-restore snapshot: what was there before this rollback overwrote it. */
  failedState: SetOnHost | null;
  /** Each part the plan was to put back, and what became of it. */
  parts: PartOutcome[];
  /** What else happened worth saying (a snapshot that failed, the env file made to name what ran). */
  notes: string[];
  /** The reference the env file names at the end. */
  image: string;
}

/**
 * The service a rollback stopped, saved (GITHUB_STATE) before the stop and again before the first
 * overwrite, so the post step of an interrupted run knows whether starting it again is safe.
 */
export interface StoppedService {
  containerId: string;
  /** The set being restored. */
  target: string;
  /** True from the first overwrite (env file, database, volumes, image tag) until the service is up. */
  overwriting: boolean;
}

export interface RollbackOptions extends SnapshotOptions {
  onStopped?: (s: StoppedService | null) => void;
  /**
   * Prove, before anything is stopped, that the database restore could run (the rollback command).
   * A deploy's recovery never sets it: the deploy proved it before its switch, and a recovery that
   * stopped half-way would leave the failed release running.
   */
  proveRestore?: boolean;
  /**
   * The caller's look at the host, if nothing but the stop below changes it before the snapshot: the
   * rollback command's, or a deploy's refreshed by what its switch changed (the env file names the
   * release, the service runs its container). The snapshot then refreshes only the stopped container
   * instead of probing again; if the container stopped is not the one the look names, it probes.
   */
  facts?: Facts;
}

/**
 * Runs a restore plan, in its safe order: checksums → stop the service → snapshot what is about to be
 * overwritten → env file → database → volumes → the exact backed-up image under its old reference → up
 * → verify. A part that fails is reported and the rest still runs: ending on the previous image is
 * better than stopping half-way. Nothing is overwritten without a verified snapshot.
 */
export async function rollbackToSet(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  project: string,
  plan: RestorePlan,
  opts: RollbackOptions,
): Promise<RollbackResult> {
  const { app } = settings;
  const step = (s: Step) => runGroupedStep(host, log, s);
  const parts: PartOutcome[] = [];
  const notes: string[] = [];
  const m = plan.target.manifest;

  // Refuse before touching anything if the set is not what its manifest says, or its image is gone.
  // Read-only, side by side: the checksums, the set's image, and the container a stop would stop
  // (looked up now, not planned: a deploy's recovery stops the failed release it just started).
  const [checked, image, running] = await Promise.allSettled([
    step(plan.check),
    plan.parts.app ? host.docker.inspectImage(m.image.backupTag) : null,
    currentContainer(host, project, app.service),
  ]);
  if (checked.status === 'rejected') {
    const err = checked.reason as Error;
    const detail = err instanceof RemoteCommandError ? err.stderrTail.trim() : err.message;
    throw new RefusedError(
      `backup set ${m.id} fails its checksums, so nothing was restored or changed: ${detail}`,
    );
  }
  if (running.status === 'rejected') throw running.reason;
  // Gone from the host (or not readable): pulled back by digest, or refused, with nothing changed.
  if (plan.parts.app && (image.status === 'rejected' || image.value?.id !== m.image.id))
    await ensureSetImage(host, log, m);
  const mode = plan.database?.mode;
  if (opts.proveRestore && mode && mode !== 'never') {
    const backupDir = plan.target.dir.replace(/\/[^/]*$/, '');
    const why = await whyRestoreCannotRun(host, settings, log, m, backupDir);
    // A certain restore is refused outright; one that depends on whether the schema moved (auto) is
    // announced, since an image-only rollback needs no privilege.
    if (why && mode === 'always')
      throw new RefusedError(
        `the database of backup set ${m.id} could not be restored: ${why}; nothing was stopped or changed`,
      );
    if (why) log.warning(`if the schema moved, the database could not be restored: ${why}`);
  }

  // Through the Docker API already open on this connection: `compose stop` would only start compose
  // (a Python program with v1) to send the same request.
  const stopped = running.value;
  const mark = (overwriting: boolean) =>
    stopped && opts.onStopped?.({ containerId: stopped.id, target: m.id, overwriting });
  mark(false);
  if (stopped) await log.group(`Stop ${app.service}`, () => host.docker.stopContainer(stopped.id, 10));
  // The look still holds if the container stopped is the one it saw: refresh that container's state.
  const look =
    opts.facts && opts.facts.container?.id === stopped?.id
      ? { ...opts.facts, container: stopped ? await host.docker.inspectContainer(stopped.id) : null }
      : undefined;

  // What is about to be overwritten, as a set of its own, so this rollback can be undone.
  const taken = await takeSnapshot(host, settings, log, opts, {
    id: plan.snapshotId,
    reason: plan.snapshotReason,
    database: !!plan.database,
    volumes: plan.parts.volumes,
    project,
    restoreTarget: m.id,
    ...(look ? { facts: look } : {}),
    // The database restore that may follow works in the snapshot's helper.
    keepHelper: !!plan.database,
  });
  const snapshot = taken.result;
  if (!snapshot.ok) {
    notes.push(
      `the pre-restore snapshot could not be made (${snapshot.why}): nothing that it would have saved was overwritten`,
    );
    log.warning(`pre-restore snapshot failed: ${snapshot.why}`);
  }

  mark(true);
  if (plan.env) {
    await step(plan.env);
    parts.push({ part: 'env-file', status: 'restored', file: app.envFile, from: m.id });
  }
  if (plan.pointEnv) {
    await step(plan.pointEnv.step);
    notes.push(`${m.image.variable || app.imageVariable} set to ${plan.image}: ${plan.pointEnv.why}`);
    log.warning(notes.at(-1)!);
  }

  if (plan.database) {
    const db = await rollBackDatabase(
      host,
      settings,
      log,
      { ...plan, database: plan.database },
      snapshot,
      taken.set,
      stopped?.id ?? null,
      snapshot.ok && snapshot.database.kind === 'sqlite' && !!stopped,
    );
    parts.push(...db.parts);
    notes.push(...db.notes);
  }

  for (const v of plan.volumes) {
    if (!snapshot.ok) {
      const why = 'without the pre-restore snapshot its current content would be lost';
      parts.push({ part: 'volume', status: 'failed', name: v.name, why });
      continue;
    }
    try {
      await step(v.step);
      parts.push({ part: 'volume', status: 'restored', name: v.name, from: m.id, entries: v.entries });
    } catch (err) {
      const why = (err as Error).message.split('\n')[0] ?? '';
      parts.push({ part: 'volume', status: 'failed', name: v.name, why });
    }
  }

  if (plan.retag) {
    await step(plan.retag);
    parts.push({ part: 'image', status: 'restored', reference: plan.image, imageId: m.image.id });
  }
  await step(plan.up);
  opts.onStopped?.(null);
  const container = await currentContainer(host, project, app.service);
  // The set's image, when this rollback put it back: the restored container must run it.
  const expected = plan.retag ? { reference: plan.image, imageId: m.image.id } : undefined;
  const verify = container
    ? await log.group('Verify the restored version', () =>
        verifyContainer(host, container.id, settings.verify.health, settings.verify, log, Date.now, expected),
      )
    : null;
  return { verify, failedState: taken.set, parts, notes, image: plan.image };
}
