import type { ComposeFlavor } from './compose.js';
import type { MigrationReport } from './migrations/classify.js';
import type { RunInfo } from './settings.js';

export const MANIFEST_SCHEMA = 'eqmd-rollback/manifest@1';

export interface ManifestFile {
  /** Relative to the set directory. */
  path: string;
  role: 'env-file' | 'compose-file' | 'database' | 'volume';
  bytes: number;
  sha256: string;
}

export type DatabaseRecord =
  | { kind: 'none' }
  | {
      kind: 'sqlite' | 'postgres';
      /** How it was read: inside the app container, through the postgres service, or by URL from the host. */
      via: 'app-container' | 'postgres-service' | 'database-url';
      /** Path in the container, service name, or URL without password. */
      source: string;
      file: string;
      integrity: string;
      schemaFingerprint: string;
      tables: Record<string, number>;
    };

export interface VolumeRecord {
  name: string;
  mountpoint: string;
  file: string;
  entries: number;
  contentBytes: number;
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  id: string;
  created: string;
  reason: ManifestReason;
  host: { name: string; address: string };
  project: string;
  projectDir: string;
  service: string;
  composeFlavor: ComposeFlavor;
  image: {
    /** What the container was created from. */
    reference: string;
    id: string;
    repoDigests: string[];
    /** Local tag that keeps the image on the host after pruning; restoring needs no registry. */
    backupTag: string;
    /** The env file's image variable and its value at backup time. */
    variable: string;
    envValue: string;
  };
  files: ManifestFile[];
  database: DatabaseRecord;
  volumes: VolumeRecord[];
  verified: boolean;
  checks: { check: string; ok: boolean; detail: string }[];
  totalBytes: number;
  run: RunInfo;
  /**
   * For a snapshot taken just before a restore: the set being restored. A re-run of the same workflow
   * run reads it to finish that restore instead of choosing a new target.
   */
  restoreTarget?: string;
  /**
   * For a pre-restore snapshot: the kind of rollback that replaced this state. An emergency rollback
   * reads it to tell an operator's named rollback (which it may undo) from an emergency one (never).
   */
  rollbackMode?: RollbackMode;
  /** A pre-deploy set: what the release's migrations would do, and each app's applied state before. */
  migrations?: MigrationReport;
  tool: { name: string; version: string };
}

/** How a rollback chose where to go: the newest good set, a named version, or a named set. */
export const ROLLBACK_MODES = ['emergency', 'version', 'backup-set'] as const;
export type RollbackMode = (typeof ROLLBACK_MODES)[number];

/** Why a set was made: every reason the action writes, and so the only ones a manifest may carry. */
export const MANIFEST_REASONS = [
  'manual',
  'pre-deploy',
  'pre-restore',
  'failed-deploy',
  'failed-candidate',
  'interrupted-deploy',
] as const;
export type ManifestReason = (typeof MANIFEST_REASONS)[number];

/**
 * Reasons of sets that hold a state something was rolled back from: a failed release, what a rollback
 * replaced, or what an interrupted deploy left half-done (its re-run snapshots it as
 * `interrupted-deploy` and rolls back, on failure, to where the first attempt started). An emergency
 * rollback never goes there (two emergency rollbacks in a row must not bring the broken release back);
 * undoing a rollback is done by naming its snapshot's backup-id.
 */
export const ROLLED_AWAY_REASONS: readonly string[] = [
  'failed-deploy',
  'failed-candidate',
  'pre-restore',
  'interrupted-deploy',
];

/** A set as `list` reports it: the `backups` output's element. */
export interface SetSummary {
  id: string;
  created: string;
  reason: string;
  image: string;
  database: string;
  verified: boolean;
  bytes: number;
}

export function summarize(m: Manifest): SetSummary {
  return {
    id: m.id,
    created: m.created,
    reason: m.reason,
    image: m.image.reference,
    database: m.database.kind,
    verified: m.verified,
    bytes: m.totalBytes,
  };
}
