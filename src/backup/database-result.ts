import type { DatabaseRecord, ManifestFile } from '../manifest.js';
import { short, type Check } from './check.js';
import type { DatabaseTarget } from './decide.js';
import { parseKeyValues } from './key-values.js';

export interface DatabaseResult {
  record: DatabaseRecord;
  checks: Check[];
}

const SQLITE_FILE = 'database.sqlite3';

/**
 * Reads the SQLite step's report and compares the in-container checksum with the checksum step's for
 * the set's copy: the one the manifest records, so the manifest's checksum is proven to be of the
 * bytes that passed the integrity check.
 */
export function sqliteResult(
  target: Extract<DatabaseTarget, { kind: 'sqlite' }>,
  stdout: string,
  files: readonly ManifestFile[],
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
  const hostSha = files.find((f) => f.path === SQLITE_FILE)?.sha256 ?? '';
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
      file: SQLITE_FILE,
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

/**
 * The database step's result, read once the checksum step has hashed the set's files (`stdout` null
 * when the plan has no database step).
 */
export function databaseResult(
  target: DatabaseTarget,
  stdout: string | null,
  files: readonly ManifestFile[],
): DatabaseResult {
  if (stdout === null || target.kind === 'none') return { record: { kind: 'none' }, checks: [] };
  return target.kind === 'sqlite' ? sqliteResult(target, stdout, files) : postgresResult(target, stdout);
}
