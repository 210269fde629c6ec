import type { SnapshotResult } from '../deploy/decide.js';
import type { Log } from '../log.js';
import type { ManifestReason, RollbackMode } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { backup, type BackupOptions } from './backup.js';
import type { Facts } from './facts.js';

export interface SnapshotOptions {
  now: () => Date;
  toolVersion: string;
  onPending?: BackupOptions['onPending'];
  /** The rollback this snapshot is taken for (recorded on pre-restore snapshots only). */
  rollbackMode?: RollbackMode;
}

/**
 * The backup settings of a snapshot of these parts: the database only when it is overwritten, the
 * named volumes, and never a prune (keep 0). Shared by the snapshot and the dry run that prints it.
 */
export function snapshotSettings(
  settings: Settings,
  what: { database: boolean; volumes: string[] },
): Settings {
  return {
    ...settings,
    backup: {
      ...settings.backup,
      database: what.database ? settings.backup.database : 'none',
      volumes: what.volumes,
      keep: 0,
    },
  };
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
  opts: SnapshotOptions,
  what: {
    id: string;
    reason: ManifestReason;
    database: boolean;
    volumes: string[];
    project?: string;
    restoreTarget?: string;
    /** The look at the host as it is now, when the caller has one; otherwise the backup looks. */
    facts?: Facts;
    /** A restore follows: the SQLite helper is left for it (see sqliteStep). */
    keepHelper?: boolean;
  },
): Promise<{ result: SnapshotResult; set: SetOnHost | null }> {
  try {
    const out = await backup(
      host,
      { ...snapshotSettings(settings, what), output: { ...settings.output, dryRun: false } },
      log,
      {
        id: what.id,
        reason: what.reason,
        now: opts.now(),
        toolVersion: opts.toolVersion,
        ...(what.project ? { project: what.project } : {}),
        ...(what.restoreTarget ? { restoreTarget: what.restoreTarget } : {}),
        ...(opts.rollbackMode ? { rollbackMode: opts.rollbackMode } : {}),
        ...(opts.onPending ? { onPending: opts.onPending } : {}),
        ...(what.facts ? { facts: what.facts } : {}),
        ...(what.keepHelper ? { keepHelper: true } : {}),
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
