import type { MigrationReport } from '../migrations/classify.js';
import type { SetPaths } from '../backup/set-paths.js';
import { cleanupStep, finalizeStep } from '../backup/set-steps.js';
import type { Log } from '../log.js';
import type { Manifest, ManifestReason, RollbackMode } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { applyBackup } from './backup-apply.js';
import { planBackup, type BackupPlan } from './backup-plan.js';
import { applyRetention } from './backup-retention.js';
import type { Facts } from './facts.js';
import { formatPlan, runStep } from './run-step.js';

/** What a cancelled run must undo; the post step reads it back from the action's state. */
export interface PendingCleanup {
  paths: SetPaths;
  id: string;
  tag: string;
  appContainerId: string | null;
}

export interface BackupOptions {
  id: string;
  reason: ManifestReason;
  now: Date;
  toolVersion: string;
  /** Called with what to clean up before anything is written, and with null once the set is complete. */
  onPending?: (pending: PendingCleanup | null) => void;
  /**
   * The compose project of the operation this snapshot belongs to (a rollback's): recorded as is, even
   * if the service's containers, which compose's label names it by, are gone meanwhile.
   */
  project?: string;
  /** Recorded in the manifest of a pre-restore snapshot: the set about to be restored. */
  restoreTarget?: string;
  /** Recorded in the manifest of a pre-restore snapshot: the kind of rollback taking it. */
  rollbackMode?: RollbackMode;
  /**
   * Recorded in the manifest of a pre-deploy set: the release's migrations, classified. A promise when
   * the classification runs beside the backup; it is awaited just before the manifest is written.
   */
  migrations?: MigrationReport | Promise<MigrationReport | null>;
  /**
   * The caller's own look at the host, when nothing has changed it since (a deploy's, before its
   * backup): the backup plans from it instead of probing again. Snapshots taken after a change never
   * pass it: they must describe the host as it is then.
   */
  facts?: Facts;
  /** A snapshot before a restore: its helper is left for the restore (see sqliteStep). */
  keepHelper?: boolean;
  /**
   * Called once every file of the set is written and hashed, before the manifest (which may still wait
   * for the classification): a deploy reads then what the proof of its rollback path needs.
   */
  onFilesWritten?: (plan: BackupPlan) => void;
}

export type BackupOutcome =
  | { dryRun: true; plan: string }
  | {
      dryRun: false;
      manifest: Manifest;
      setDir: string;
      pruned: string[];
      unreadable: string[];
      /** What retention's prune gave back to the backup dir's disk. */
      freedBytes: number;
    };

export async function backup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: BackupOptions,
): Promise<BackupOutcome> {
  const plan = await log.group('Inspect the host and plan the backup', () =>
    planBackup(host, settings, log, opts),
  );
  const all = [
    plan.steps.prepare,
    plan.steps.tag,
    ...(plan.steps.database ? [plan.steps.database] : []),
    ...plan.steps.volumes,
    plan.steps.checksums,
  ];
  if (settings.output.dryRun) {
    const text = formatPlan([...all, finalizeStep(plan.paths, '<manifest.json>')]);
    log.info(`Dry run: nothing was changed on the host. The backup would run:\n${text}`);
    return { dryRun: true, plan: text };
  }

  const pending: PendingCleanup = {
    paths: plan.paths,
    id: opts.id,
    tag: plan.tag,
    appContainerId: plan.facts.container?.id ?? null,
  };
  opts.onPending?.(pending);
  let manifest: Manifest;
  try {
    manifest = await applyBackup(host, settings, log, opts, plan);
  } catch (err) {
    const cleaned = await log.group('Clean up the failed backup', async () => {
      try {
        await runStep(host, cleanupStep(plan.paths, opts.id, plan.tag, pending.appContainerId), log);
        return true;
      } catch (cleanupErr) {
        log.warning(`cleanup after the failed backup did not finish: ${(cleanupErr as Error).message}`);
        return false;
      }
    });
    // Still pending if the cleanup could not run (a lost connection): the post step retries it.
    if (cleaned) opts.onPending?.(null);
    throw err;
  }
  opts.onPending?.(null);

  const { pruned, unreadable, freedBytes } = await log.group('Apply retention', () =>
    applyRetention(host, settings, log, plan.facts, manifest),
  );
  return { dryRun: false, manifest, setDir: plan.paths.final, pruned, unreadable, freedBytes };
}
