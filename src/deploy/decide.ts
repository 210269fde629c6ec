import type { DatabaseRecord } from '../manifest.js';
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
