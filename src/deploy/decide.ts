import type { DatabaseRecord, Manifest } from '../manifest.js';
import type { DeploySettings } from '../settings.js';

export type SnapshotResult = { ok: true; database: DatabaseRecord; id: string } | { ok: false; why: string };

/**
 * Whether a rollback restores the database. Never without a verified snapshot of what the restore
 * would overwrite: data written by the failed version is otherwise lost for good.
 */
export function decideDatabaseRestore(
  mode: DeploySettings['restoreDatabase'],
  before: DatabaseRecord,
  snapshot: SnapshotResult,
): { restore: boolean; why: string } {
  if (before.kind === 'none') return { restore: false, why: 'the pre-deploy backup has no database' };
  if (mode === 'never') return { restore: false, why: 'restore-database: never' };
  if (!snapshot.ok) {
    return {
      restore: false,
      why: `the failed state could not be snapshotted (${snapshot.why}), so the database is left as it is`,
    };
  }
  if (mode === 'always') return { restore: true, why: 'restore-database: always' };
  const now = snapshot.database.kind === 'none' ? '' : snapshot.database.schemaFingerprint;
  if (now && now === before.schemaFingerprint)
    return { restore: false, why: 'the schema is unchanged since the pre-deploy backup' };
  return {
    restore: true,
    why: `the schema changed since the pre-deploy backup (${before.schemaFingerprint.slice(0, 12)} → ${now.slice(0, 12) || 'unknown'})`,
  };
}

export interface RestoredImage {
  /** The reference the backed-up image is tagged as, and the env file's image variable names. */
  reference: string;
  /** The saved env file names another image: its image variable is set to `reference` after it is put back. */
  rewriteEnv: boolean;
  /** Why, when rewriteEnv (for the step's notes). */
  why: string;
}

/**
 * Under which reference a restored set runs. The backed-up image is retagged as that reference, so it
 * must be one that named this very image: the one the container was created from. The saved env file
 * can name another (edited and never applied, or left by an interrupted deploy or restore); retagging
 * that one would make a version tag on the host name an image it never was (a re-run that did so
 * turned `v1` into the broken v3 for every later deploy). Then the set's running version wins and the
 * env file is made to name it.
 */
export function restoredImage(image: Manifest['image']): RestoredImage {
  const { reference: running, envValue: env, variable } = image;
  // A container created from an image id has no tag to put back: the backup tag is one.
  const taggable = !!running && !/^(sha256:)?[0-9a-f]{12,64}$/.test(running);
  const reference = taggable ? running : image.backupTag;
  if (!env || env === reference) return { reference, rewriteEnv: false, why: '' };
  return {
    reference,
    rewriteEnv: true,
    why:
      env === running
        ? `the service ran image id ${running}, which is no tag: it runs under its backup tag`
        : `when the set was made, the env file said ${variable}=${env} but the service ran ${running}; ` +
          `the set puts back what ran, and the tag ${env} is left as it is`,
  };
}

/** Compares `name|count` lines from the restored database with the manifest's row counts. */
export function compareCounts(expected: Record<string, number>, lines: readonly string[]): string[] {
  const got = new Map(
    lines.map((l) => {
      const bar = l.lastIndexOf('|');
      return [l.slice(0, bar), Number(l.slice(bar + 1))] as const;
    }),
  );
  return Object.entries(expected)
    .filter(([t, n]) => got.get(t) !== n)
    .map(([t, n]) => `${t}: ${got.has(t) ? got.get(t) : 'missing'} rows, expected ${n}`);
}
