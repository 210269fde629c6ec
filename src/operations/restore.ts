import type { Step } from '../backup/steps.js';
import { parseKeyValues } from '../backup/key-values.js';
import { compareCounts } from '../deploy/decide.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { pgDropNewStep, pgRestoreIntoNewStep, pgSwapStep, type PgTarget } from '../restore/postgres.js';
import { sqliteRestoreStep } from '../restore/sqlite.js';
import { CARRIED_KEY, CARRY_FAILED_KEY, type SqliteCarry } from '../carry-over/step.js';
import { pgCarryOverStep } from '../carry-over/pg-step.js';
import type { Settings } from '../settings.js';
import { runGroupedStep, runStep } from './run-step.js';

/** Where the carry-over's report goes; SQLite also names the replaced database's copy. */
export type CarryOver = { report: string } | SqliteCarry;

export interface RestoredDatabase {
  /** What now holds the replaced data: the SQLite file or PostgreSQL database moved aside. */
  aside: string;
  detail: string;
  /** When a carry-over was asked for: its report line, or why it failed (the restore went on). */
  carried?: { ok: true; report: string } | { ok: false; why: string };
}

/**
 * Restores a set's database; the caller has stopped the app and snapshotted what this overwrites, and
 * its plan checked the set's checksums before it stopped anything (under the same lock: the file is not
 * hashed twice). The restored copy is verified before it replaces anything; the replaced data is kept
 * aside, never deleted.
 */
export async function restoreDatabase(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  set: { manifest: Manifest; dir: string },
  appContainerId: string,
  id: string,
  /**
   * Carry the writes made since the set into the restored copy before it is swapped in: from the
   * snapshot's copy (SQLite) or from the live database itself, not replaced yet (PostgreSQL).
   */
  carryOver?: CarryOver,
): Promise<RestoredDatabase> {
  const { manifest: m } = set;
  const db = m.database;
  if (db.kind === 'none') throw new RefusedError(`backup set ${m.id} has no database`);
  const step = (s: Step) => runGroupedStep(host, log, s);
  const file = m.files.find((f) => f.path === db.file);
  if (!file) throw new RefusedError(`backup set ${m.id} lists no file ${db.file}`);

  if (db.kind === 'sqlite') {
    const out = await step(
      sqliteRestoreStep({
        id,
        projectDir: settings.app.projectDir,
        appContainer: appContainerId,
        image: m.image.backupTag,
        sqlitePath: db.source,
        backupFile: `${set.dir}/${db.file}`,
        expected: { sha256: file.sha256, tables: db.tables, schema: db.schemaFingerprint },
        carryOver: carryOver && 'replacedFile' in carryOver ? carryOver : undefined,
      }),
    );
    const aside = parseKeyValues(out).find((x) => x.key === 'aside')?.value ?? '';
    return {
      aside,
      ...(carryOver && { carried: carriedBy(out) }),
      detail: `SQLite ${db.source} restored from ${m.id} (${Object.values(db.tables).reduce((a, b) => a + b, 0)} rows verified)`,
    };
  }

  const target = await pgTargetOf(host, settings, m);
  const out = await step(pgRestoreIntoNewStep(target, `${set.dir}/${db.file}`, Object.keys(db.tables)));
  const counts = parseKeyValues(out)
    .filter((x) => x.key === 'count')
    .map((x) => x.value);
  const wrong = compareCounts(db.tables, counts);
  if (wrong.length) {
    await runStep(host, pgDropNewStep(target), log).catch(() => undefined);
    throw new Error(
      `the restored PostgreSQL database does not match the manifest (${wrong.join('; ')}); the live database was not touched`,
    );
  }
  // Before the swap: a kill leaves the live database untouched, the re-run carries again.
  const carried = carryOver && carriedBy(await step(pgCarryOverStep(target, carryOver.report)));
  const swapped = await step(pgSwapStep(target, id));
  const aside = parseKeyValues(swapped).find((x) => x.key === 'aside')?.value ?? '';
  return {
    aside,
    detail: `PostgreSQL restored from ${m.id} into a fresh database and swapped in (${counts.length} tables verified); the replaced database is kept as ${aside}`,
    ...(carried && { carried }),
  };
}

/** The carry-over's outcome in a step's output: its report line, or why it failed. */
function carriedBy(out: string): NonNullable<RestoredDatabase['carried']> {
  const kv = new Map(parseKeyValues(out).map((x) => [x.key, x.value]));
  const report = kv.get(CARRIED_KEY);
  return report !== undefined
    ? { ok: true, report }
    : { ok: false, why: kv.get(CARRY_FAILED_KEY) || 'the carry-over printed no report' };
}

/** How the set's PostgreSQL database is reached for a restore: as it was dumped. */
export async function pgTargetOf(host: RemoteHost, settings: Settings, m: Manifest): Promise<PgTarget> {
  if (m.database.kind !== 'postgres') throw new RefusedError(`backup set ${m.id} has no PostgreSQL database`);
  if (m.database.via === 'database-url') {
    if (!settings.backup.databaseUrl)
      throw new RefusedError('the set was dumped with database-url: set database-url to restore it');
    return { via: 'database-url', url: settings.backup.databaseUrl };
  }
  const pg = (await host.docker.serviceContainers(m.project, settings.backup.postgresService)).find(
    (c) => c.running,
  );
  if (!pg)
    throw new RefusedError(
      `the postgres service '${settings.backup.postgresService}' is not running: cannot restore`,
    );
  return { via: 'postgres-service', containerId: pg.id };
}
