import type { MigrationReport } from '../migrations/classify.js';
import type { ComposeFlavor } from '../compose.js';
import type { ImageInfo } from '../docker-api.js';
import {
  MANIFEST_SCHEMA,
  type DatabaseRecord,
  type Manifest,
  type ManifestFile,
  type ManifestReason,
  type RollbackMode,
  type VolumeRecord,
} from '../manifest.js';
import type { RunInfo } from '../settings.js';
import type { Check } from './check.js';
import { parseKeyValues } from './key-values.js';

export function volumeResult(
  name: string,
  mountpoint: string,
  stdout: string,
): { record: VolumeRecord; check: Check } {
  const kv = new Map(parseKeyValues(stdout).map((x) => [x.key, x.value]));
  const entries = Number(kv.get('entries') ?? '0');
  const contentBytes = Number(kv.get('content_bytes') ?? '0');
  return {
    record: { name, mountpoint, file: `volumes/${name}.tar`, entries, contentBytes },
    check: {
      check: `volume ${name} archive listed`,
      ok: entries > 0,
      detail: `${entries} entries, ${contentBytes} bytes`,
    },
  };
}

const ROLES: [RegExp, ManifestFile['role']][] = [
  [/^env$/, 'env-file'],
  [/^compose\.yml$/, 'compose-file'],
  [/^database\./, 'database'],
  [/^volumes\//, 'volume'],
];

export function parseChecksums(stdout: string): ManifestFile[] {
  return parseKeyValues(stdout)
    .filter((x) => x.key === 'file')
    .map(({ value }) => {
      const [bytes, sha256, ...rest] = value.split('=');
      const path = rest.join('=');
      const role = ROLES.find(([re]) => re.test(path))?.[1] ?? 'volume';
      return { path, role, bytes: Number(bytes), sha256: sha256 ?? '' };
    });
}

/** Every file the plan produced must be on disk with a checksum; anything missing fails the set. */
export function filesCheck(files: readonly ManifestFile[], expected: readonly string[]): Check {
  const present = new Set(files.map((f) => f.path));
  const missing = expected.filter((p) => !present.has(p));
  const bad = files.filter((f) => !/^[0-9a-f]{64}$/.test(f.sha256));
  return {
    check: 'every file synced and checksummed',
    ok: missing.length === 0 && bad.length === 0,
    detail: missing.length ? `missing: ${missing.join(', ')}` : `${files.length} files`,
  };
}

export function buildManifest(x: {
  id: string;
  created: Date;
  reason: ManifestReason;
  hostName: string;
  address: string;
  project: string;
  projectDir: string;
  service: string;
  flavor: ComposeFlavor;
  imageReference: string;
  image: ImageInfo;
  backupTag: string;
  imageVariable: string;
  envValue: string;
  files: ManifestFile[];
  database: DatabaseRecord;
  volumes: VolumeRecord[];
  checks: Check[];
  run: RunInfo;
  toolVersion: string;
  restoreTarget?: string;
  rollbackMode?: RollbackMode;
  migrations?: MigrationReport;
}): Manifest {
  return {
    schema: MANIFEST_SCHEMA,
    id: x.id,
    created: x.created.toISOString(),
    reason: x.reason,
    host: { name: x.hostName, address: x.address },
    project: x.project,
    projectDir: x.projectDir,
    service: x.service,
    composeFlavor: x.flavor,
    image: {
      reference: x.imageReference,
      id: x.image.id,
      repoDigests: x.image.repoDigests,
      backupTag: x.backupTag,
      variable: x.imageVariable,
      envValue: x.envValue,
    },
    files: x.files,
    database: x.database,
    volumes: x.volumes,
    verified: x.checks.every((c) => c.ok),
    checks: x.checks,
    totalBytes: x.files.reduce((a, f) => a + f.bytes, 0),
    run: x.run,
    ...(x.restoreTarget ? { restoreTarget: x.restoreTarget } : {}),
    // Only a snapshot a rollback takes of what it replaces says which rollback that was.
    ...(x.rollbackMode && x.reason === 'pre-restore' ? { rollbackMode: x.rollbackMode } : {}),
    ...(x.migrations ? { migrations: x.migrations } : {}),
    tool: { name: 'eqmd-rollback', version: x.toolVersion },
  };
}
