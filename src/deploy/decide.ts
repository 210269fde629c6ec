import type { DatabaseRecord, Manifest } from '../manifest.js';
import { migrationLine, type MigrationReport } from '../migrations/classify.js';
import { rollbackPath, undoneWithoutLoss } from '../migrations/way-back.js';
import type { DeploySettings } from '../settings.js';

export type SnapshotResult = { ok: true; database: DatabaseRecord; id: string } | { ok: false; why: string };

const migrationsTable = (tables: Record<string, number>): number | undefined =>
  tables[
    Object.keys(tables).find((t) => t === 'django_migrations' || t.endsWith('.django_migrations')) ?? ''
  ];

/**
 * Whether exactly the release's own migrations moved the schema since the set: django_migrations grew
 * by that count (a later release's migrations on top, or a half-applied one, fail it).
 */
function onlyTheRelease(before: DatabaseRecord, now: DatabaseRecord, migrations: MigrationReport): boolean {
  if (before.kind === 'none' || now.kind === 'none' || !migrations.pending.length) return false;
  const was = migrationsTable(before.tables);
  return was !== undefined && migrationsTable(now.tables) === was + migrations.pending.length;
}

export interface DatabaseDecision {
  /**
   * keep: leave the live database (every record written since stays). migrate-back: undo the
   * release's migrations with its own image, rows kept. restore: put the set's database back.
   */
  action: 'keep' | 'migrate-back' | 'restore';
  why: string;
}

/**
 * What a rollback does with the database. Never anything without a verified snapshot of what it would
 * overwrite: data written by the failed version is otherwise lost for good. Under auto, by plan: the
 * schema unchanged: keep. Moved only by the release's own compatible migrations: keep (the previous
 * version runs on it). By its own migrations that Django undoes without losing a record (breaks-old-
 * writes, renames, with compatible ones beside them): migrate back with its image (when the plan could
 * make that step), rows kept.
 * Anything else: restore.
 */
export function decideDatabaseRestore(
  mode: DeploySettings['restoreDatabase'],
  before: DatabaseRecord,
  snapshot: SnapshotResult,
  /** The set's record of the release deployed after it (a pre-deploy set's): what moved the schema. */
  migrations?: MigrationReport,
  canMigrateBack = false,
): DatabaseDecision {
  const keep = (why: string): DatabaseDecision => ({ action: 'keep', why });
  if (before.kind === 'none') return keep('the pre-deploy backup has no database');
  if (mode === 'never') return keep('restore-database: never');
  if (!snapshot.ok)
    return keep(
      `the failed state could not be snapshotted (${snapshot.why}), so the database is left as it is`,
    );
  if (mode === 'always') return { action: 'restore', why: 'restore-database: always' };
  const now = snapshot.database.kind === 'none' ? '' : snapshot.database.schemaFingerprint;
  if (now && now === before.schemaFingerprint)
    return keep('the schema is unchanged since the pre-deploy backup');
  const list = migrations?.pending.map(migrationLine).join('; ') ?? '';
  const path = migrations && rollbackPath(migrations);
  const release = !!migrations && onlyTheRelease(before, snapshot.database, migrations);
  // Only additions the previous version does not use: it runs on this schema, so nothing is undone and
  // every record and value written since stays live (RELIABILITY promise 9: image only).
  if (path?.path === 'keep' && migrations!.pending.length && release)
    return keep(
      `the schema moved only by the release's own compatible migrations (${list}): the previous version runs on it, so the database is kept, every record and value`,
    );
  if (migrations && undoneWithoutLoss(migrations) && canMigrateBack && release)
    return {
      action: 'migrate-back',
      why:
        `the schema moved only by the release's own reversible migrations (${list}): they are migrated back ` +
        'with its image, every record kept',
    };
  // Said when it is the reason: the operator reads why the records written since need a carry-over.
  const lossy = path && path.path === 'restore' ? `; ${path.why}` : '';
  return {
    action: 'restore',
    why: `the schema changed since the pre-deploy backup (${before.schemaFingerprint.slice(0, 12)} → ${now.slice(0, 12) || 'unknown'})${lossy}`,
  };
}

/**
 * Rows a migrate-back leaves only in the snapshot: those of tables the release added (the previous
 * version has no such table), from the row counts both records hold. Said, never dropped unsaid.
 */
export function rowsOnlyInSnapshot(
  before: DatabaseRecord,
  snapshot: DatabaseRecord,
): { table: string; rows: number }[] {
  if (before.kind === 'none' || snapshot.kind === 'none') return [];
  return Object.entries(snapshot.tables)
    .filter(([t, rows]) => rows > 0 && !(t in before.tables))
    .map(([table, rows]) => ({ table, rows }))
    .sort((x, y) => x.table.localeCompare(y.table));
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
