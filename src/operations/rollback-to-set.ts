import { inProject, type ComposeTarget } from '../compose.js';
import { restoreEnvStep, retagStep, setImageVariableStep, upStep } from '../deploy/commands.js';
import { decideDatabaseRestore, restoredImage, type SnapshotResult } from '../deploy/decide.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import type { Log } from '../log.js';
import type { Manifest, ManifestFile, ManifestReason } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { verifySetStep, volumeRestoreStep } from '../restore/commands.js';
import type { Settings } from '../settings.js';
import { backup, type BackupOptions } from './backup.js';
import type { Facts } from './facts.js';
import { restoreDatabase, whyRestoreCannotRun } from './restore.js';
import { runStep } from './run-step.js';
import { ensureSetImage } from './set-image.js';
import { currentContainer } from './service.js';
import { verifyContainer, type VerifyReport } from './verify.js';

export interface SetOnHost {
  manifest: Manifest;
  dir: string;
}

/** What a rollback puts back. */
export interface RestoreParts {
  /** The env file and the image (retagged from its backup tag). */
  app: boolean;
  /** 'per-setting': as restore-database says (auto = when the schema moved). */
  database: 'per-setting' | 'always' | 'no';
  /** Volumes of the set to restore (Docker names). */
  volumes: string[];
}

export const APP_PARTS: RestoreParts = { app: true, database: 'per-setting', volumes: [] };

export interface RollbackResult {
  verify: VerifyReport | null;
  /** The pre-restore snapshot: what was there before this rollback overwrote it. */
  failedState: SetOnHost | null;
  restored: string[];
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

export interface RollbackOptions {
  snapshotReason: ManifestReason;
  onStopped?: (s: StoppedService | null) => void;
  newId: () => string;
  now: () => Date;
  toolVersion: string;
  onPending?: BackupOptions['onPending'];
  parts?: RestoreParts;
  /**
   * Prove, before anything is stopped, that the database restore could run (the rollback command).
   * A deploy's recovery never sets it: the deploy proved it before its switch, and a recovery that
   * stopped half-way would leave the failed release running.
   */
  proveRestore?: boolean;
}

/**
 * The app part of putting a set back, as exact steps: check the env file's checksum, put it back,
 * point the reference at the backed-up image, start. Shared by the rollback and the dry run's plan.
 */
export function appRestoreSteps(x: {
  setDir: string;
  envPath: string;
  backupTag: string;
  reference: string;
  compose: ComposeTarget;
  service: string;
}) {
  return {
    // Printed in a plan made before the set exists: its checksum is named, not known.
    verifySet: verifySetStep(x.setDir, [
      { path: 'env', role: 'env-file', bytes: 0, sha256: '<sha256 of env from the manifest>' },
    ]),
    env: restoreEnvStep(`${x.setDir}/env`, x.envPath),
    retag: retagStep(x.backupTag, x.reference),
    up: upStep(x.compose, x.service),
  };
}

/** The files of a set that a restore of these parts reads: all are checksummed before anything changes. */
export function filesFor(m: Manifest, parts: RestoreParts): ManifestFile[] {
  const wanted = new Set<string>([
    ...(parts.app ? ['env'] : []),
    ...(parts.database !== 'no' && m.database.kind !== 'none' ? [m.database.file] : []),
    ...m.volumes.filter((v) => parts.volumes.includes(v.name)).map((v) => v.file),
  ]);
  return m.files.filter((f) => wanted.has(f.path));
}

/**
 * Puts the host back to a backup set, in a safe order: checksums → stop the service → snapshot what is
 * about to be overwritten → env file → database → volumes → the exact backed-up image under its old
 * reference → up → verify. A part that fails is reported and the rest still runs: ending on the
 * previous image is better than stopping half-way. Nothing is overwritten without a verified snapshot.
 */
export async function rollbackToSet(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  facts: Facts,
  target: SetOnHost,
  opts: RollbackOptions,
): Promise<RollbackResult> {
  const parts = opts.parts ?? APP_PARTS;
  const { app } = settings;
  const step = (s: Parameters<typeof runStep>[1]) =>
    log.group(s.title, async () => (await runStep(host, s, log)).toString());
  const restored: string[] = [];
  const notes: string[] = [];
  const m = target.manifest;

  // Refuse before touching anything if the set is not what its manifest says.
  try {
    await step(verifySetStep(target.dir, filesFor(m, parts)));
  } catch (err) {
    const detail = err instanceof RemoteCommandError ? err.stderrTail.trim() : (err as Error).message;
    throw new RefusedError(
      `backup set ${m.id} fails its checksums, so nothing was restored or changed: ${detail}`,
    );
  }

  if (parts.app) await ensureSetImage(host, log, m);
  const restoreMode = parts.database === 'always' ? 'always' : settings.deploy.restoreDatabase;
  if (opts.proveRestore && parts.database !== 'no' && restoreMode !== 'never') {
    const why = await whyRestoreCannotRun(host, settings, log, m);
    // A certain restore is refused outright; one that depends on whether the schema moved (auto) is
    // announced, since an image-only rollback needs no privilege.
    if (why && restoreMode === 'always')
      throw new RefusedError(
        `the database of backup set ${m.id} could not be restored: ${why}; nothing was stopped or changed`,
      );
    if (why) log.warning(`if the schema moved, the database could not be restored: ${why}`);
  }

  // Through the Docker API already open on this connection: `compose stop` would only start compose
  // (a Python program with v1) to send the same request.
  const stopped = await currentContainer(host, facts.project, app.service);
  const mark = (overwriting: boolean) =>
    stopped && opts.onStopped?.({ containerId: stopped.id, target: m.id, overwriting });
  mark(false);
  if (stopped) await log.group(`Stop ${app.service}`, () => host.docker.stopContainer(stopped.id, 10));

  // What is about to be overwritten, as a set of its own, so this rollback can be undone.
  const taken = await takeSnapshot(host, settings, log, opts, {
    reason: opts.snapshotReason,
    database: parts.database !== 'no',
    volumes: parts.volumes,
    project: facts.project,
    restoreTarget: m.id,
  });
  const snapshot = taken.result;
  const failedState = taken.set;
  if (!snapshot.ok) {
    notes.push(
      `the pre-restore snapshot could not be made (${snapshot.why}): nothing that it would have saved was overwritten`,
    );
    log.warning(`pre-restore snapshot failed: ${snapshot.why}`);
  }

  const runAs = restoredImage(m.image);
  mark(true);
  const appSteps = appRestoreSteps({
    setDir: target.dir,
    envPath: inProject(app.projectDir, app.envFile),
    backupTag: m.image.backupTag,
    reference: runAs.reference,
    compose: facts.compose,
    service: app.service,
  });
  if (parts.app) {
    const envPath = inProject(app.projectDir, app.envFile);
    await step(appSteps.env);
    restored.push(`env file ${app.envFile} from ${m.id}`);
    if (runAs.rewriteEnv) {
      await step(setImageVariableStep(envPath, m.image.variable || app.imageVariable, runAs.reference));
      notes.push(`${m.image.variable || app.imageVariable} set to ${runAs.reference}: ${runAs.why}`);
      log.warning(notes.at(-1)!);
    }
  }

  if (parts.database !== 'no') {
    const decision = decideDatabaseRestore(restoreMode, m.database, snapshot);
    log.info(`database: ${decision.restore ? 'restoring' : 'not restoring'}: ${decision.why}`);
    if (decision.restore && stopped) {
      try {
        const r = await restoreDatabase(
          host,
          settings,
          log,
          target,
          stopped.id,
          snapshot.ok ? snapshot.id : opts.newId(),
        );
        restored.push(
          r.detail +
            (r.aside && !r.detail.includes(r.aside) ? `; the replaced data is kept as ${r.aside}` : ''),
        );
      } catch (err) {
        notes.push(`database NOT restored: ${(err as Error).message.split('\n')[0]}`);
        log.warning(`database restore failed: ${(err as Error).message}`);
      }
    } else {
      notes.push(
        `database not restored: ${decision.restore ? 'the service has no container' : decision.why}`,
      );
    }
  }

  for (const name of parts.volumes) {
    const v = m.volumes.find((x) => x.name === name);
    if (!v) continue;
    if (!snapshot.ok) {
      notes.push(
        `volume ${name} NOT restored: without the pre-restore snapshot its current content would be lost`,
      );
      continue;
    }
    try {
      await step(
        volumeRestoreStep({
          id: snapshot.id,
          projectDir: app.projectDir,
          volume: name,
          archive: `${target.dir}/${v.file}`,
          image: m.image.backupTag,
          entries: v.entries,
        }),
      );
      restored.push(`volume ${name} from ${m.id} (${v.entries} entries)`);
    } catch (err) {
      notes.push(`volume ${name} NOT restored: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  let image = facts.probe.imageVariable;
  if (parts.app) {
    image = runAs.reference;
    await step(appSteps.retag);
    restored.push(`image ${image} (${m.image.id.replace(/^sha256:/, '').slice(0, 12)}) from its backup tag`);
  }
  await step(appSteps.up);
  opts.onStopped?.(null);
  const container = await currentContainer(host, facts.project, app.service);
  const verify = container
    ? await log.group('Verify the restored version', () =>
        verifyContainer(host, container.id, settings.verify.health, settings.verify, log),
      )
    : null;
  return { verify, failedState, restored, notes, image };
}

/**
 * A set of what is about to be overwritten (the database, the named volumes, the env file), made
 * before any destructive step: it is what lets a rollback be undone and later writes survive. Never
 * prunes (keep 0). A failure is returned, not thrown: the caller then must not overwrite.
 */
export async function takeSnapshot(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: Pick<RollbackOptions, 'newId' | 'now' | 'toolVersion' | 'onPending'>,
  what: {
    reason: ManifestReason;
    database: boolean;
    volumes: string[];
    project?: string;
    restoreTarget?: string;
  },
): Promise<{ result: SnapshotResult; set: SetOnHost | null }> {
  try {
    const out = await backup(
      host,
      {
        ...settings,
        backup: {
          ...settings.backup,
          database: what.database ? settings.backup.database : 'none',
          volumes: what.volumes,
          keep: 0,
        },
        output: { ...settings.output, dryRun: false },
      },
      log,
      {
        id: opts.newId(),
        reason: what.reason,
        now: opts.now(),
        toolVersion: opts.toolVersion,
        ...(what.project ? { project: what.project } : {}),
        ...(what.restoreTarget ? { restoreTarget: what.restoreTarget } : {}),
        ...(opts.onPending ? { onPending: opts.onPending } : {}),
      },
    );
    if (out.dryRun) throw new Error('unexpected dry run');
    return {
      result: { ok: true, database: out.manifest.database, id: out.manifest.id },
      set: { manifest: out.manifest, dir: out.setDir },
    };
  } catch (err) {
    return { result: { ok: false, why: (err as Error).message.split('\n')[0] ?? 'unknown' }, set: null };
  }
}
