import { randomBytes } from 'node:crypto';
import type { ComposeFlavor } from '../compose.js';
import type { ImageInfo } from '../docker-api.js';
import {
  MANIFEST_SCHEMA,
  type DatabaseRecord,
  type Manifest,
  type ManifestFile,
  type ManifestReason,
  type VolumeRecord,
} from '../manifest.js';
import type { RunInfo } from '../settings.js';
import { parseKeyValues } from './commands.js';
import type { DatabaseTarget } from './decide.js';

/** `20261124T101530Z-3fa9c1`: sorts by time, unique enough for one host, a valid Docker tag. */
export function newBackupId(now: Date, random: Buffer = randomBytes(3)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random.toString('hex')}`;
}

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

export interface DatabaseResult {
  record: DatabaseRecord;
  checks: Check[];
}

/** Reads the SQLite step's report and compares the in-container checksum with the host's copy. */
export function sqliteResult(
  target: Extract<DatabaseTarget, { kind: 'sqlite' }>,
  stdout: string,
): DatabaseResult {
  const kv = new Map(parseKeyValues(stdout).map((x) => [x.key, x.value]));
  let report: {
    integrity?: string;
    tables?: Record<string, number>;
    schema?: string;
    sha256?: string;
    bytes?: number;
  };
  try {
    report = JSON.parse(kv.get('report') ?? '') as typeof report;
  } catch {
    report = {};
  }
  const hostSha = kv.get('host_sha256') ?? '';
  // integrity_check lists every problem on its own line: one line in the manifest (its schema
  // wants single-line text), the rest is in the set's database file for whoever looks.
  const integrity = (report.integrity ?? 'unknown').replace(/\s+/g, ' ').slice(0, 200);
  const tables = report.tables ?? {};
  const rows = Object.values(tables).reduce((a, b) => a + b, 0);
  return {
    record: {
      kind: 'sqlite',
      via: 'app-container',
      source: target.path,
      file: 'database.sqlite3',
      integrity,
      schemaFingerprint: report.schema ?? '',
      tables,
    },
    checks: [
      {
        check: 'SQLite integrity_check of the copy',
        ok: report.integrity === 'ok',
        detail: report.integrity === undefined ? 'no report' : integrity,
      },
      {
        check: 'SQLite copy identical on the host',
        ok: !!report.sha256 && report.sha256 === hostSha,
        detail: `container ${short(report.sha256)} / host ${short(hostSha)}`,
      },
      {
        check: 'SQLite row counts',
        ok: Object.keys(tables).length > 0,
        detail: `${Object.keys(tables).length} tables, ${rows} rows`,
      },
    ],
  };
}

/** Reads the PostgreSQL step's full-read output: rows per table from the dump and the schema fingerprint. */
export function postgresResult(
  target: Extract<DatabaseTarget, { kind: 'postgres' }>,
  stdout: string,
): DatabaseResult {
  const tables: Record<string, number> = {};
  let schema = '';
  for (const { key, value } of parseKeyValues(stdout)) {
    if (key === 'table') {
      const eq = value.lastIndexOf('=');
      tables[value.slice(0, eq)] = Number(value.slice(eq + 1));
    } else if (key === 'schema') {
      schema = value;
    }
  }
  const source =
    target.via === 'database-url'
      ? `postgres://${target.url.user}@${target.url.host}:${target.url.port}/${target.url.database}`
      : `compose service ${target.service}`;
  const rows = Object.values(tables).reduce((a, b) => a + b, 0);
  return {
    record: {
      kind: 'postgres',
      via: target.via,
      source,
      file: 'database.dump',
      integrity: 'pg_restore read the whole dump',
      schemaFingerprint: schema,
      tables,
    },
    checks: [
      {
        check: 'PostgreSQL dump read back in full (pg_restore)',
        ok: /^[0-9a-f]{64}$/.test(schema),
        detail: `schema ${short(schema)}`,
      },
      {
        check: 'PostgreSQL row counts',
        ok: true,
        detail: `${Object.keys(tables).length} tables, ${rows} rows`,
      },
    ],
  };
}

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
    tool: { name: 'eqmd-rollback', version: x.toolVersion },
  };
}

export function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : '(none)';
}
