import type { ComposeFlavor } from './compose.js';
import type { RunInfo } from './settings.js';
import { BACKUP_ID } from './validate.js';

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
  reason: string;
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
  tool: { name: string; version: string };
}

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

export type ParsedSet =
  { dir: string; ok: true; manifest: Manifest } | { dir: string; ok: false; problem: string };

/** Parses one manifest read from the host; anything unexpected is a problem, never a crash or a guess. */
export function parseManifest(dir: string, text: string): ParsedSet {
  if (!text) return { dir, ok: false, problem: 'no manifest.json (incomplete or foreign directory)' };
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch {
    return { dir, ok: false, problem: 'manifest.json is not valid JSON' };
  }
  if (m.schema !== MANIFEST_SCHEMA)
    return { dir, ok: false, problem: `unknown manifest schema ${JSON.stringify(m.schema)}` };
  if (typeof m.id !== 'string' || !BACKUP_ID.test(m.id) || m.id !== dir) {
    return { dir, ok: false, problem: `manifest id ${JSON.stringify(m.id)} does not match its directory` };
  }
  if (
    !Array.isArray(m.files) ||
    typeof m.project !== 'string' ||
    typeof m.created !== 'string' ||
    typeof m.reason !== 'string' ||
    !m.image ||
    !m.database
  ) {
    return { dir, ok: false, problem: 'manifest lacks files, project, created, reason, image or database' };
  }
  return { dir, ok: true, manifest: m as Manifest };
}

/** Splits the NUL-separated `dir\0manifest\0` pairs printed by readManifestsStep. */
export function parseManifestListing(stdout: Buffer): ParsedSet[] {
  const parts = stdout.toString('utf8').split('\0');
  const sets: ParsedSet[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    sets.push(parseManifest(parts[i] ?? '', parts[i + 1] ?? ''));
  }
  return sets;
}
