import type { DatabaseTarget } from '../backup/decide.js';
import { parseKeyValues } from '../backup/key-values.js';
import { RefusedError } from '../errors.js';
import { deferredLog, type Log } from '../log.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { pgCanRestoreStep } from '../restore/postgres.js';
import {
  readSpace,
  restoreSpaceStep,
  spaceProblems,
  type SpaceMeasure,
  type SpaceTarget,
} from '../restore/space.js';
import type { Settings } from '../settings.js';
import type { BackupPlan } from './backup-plan.js';
import { pgTargetOf } from './restore.js';
import { runStep } from './run-step.js';

/**
 * Could a database restore run? Asked before a deploy switches, or before a rollback stops anything.
 * PostgreSQL: the role's privileges (the restore goes through a fresh database). Both: room for the
 * pre-restore snapshot in the backup dir and for the restored copy beside the database. The readings
 * are taken first (read-only, side by side), then judged against the set.
 */
export interface ProofReadings {
  kind: 'sqlite' | 'postgres';
  /** What the role lacks (PostgreSQL), as sentences. */
  privileges: string[];
  /** null: there was nothing to measure (no running container to look into). */
  space: SpaceMeasure | null;
}

/** Reads what the proof needs for the database at `where`; null when there is no database. */
export async function readRestoreProof(
  host: RemoteHost,
  log: Log,
  where: SpaceTarget | null,
  backupDir: string,
): Promise<ProofReadings | null> {
  if (!where) return null;
  const privileges =
    where.kind === 'postgres'
      ? runStep(host, pgCanRestoreStep(where.target), log).then((out) => {
          const kv = new Map(parseKeyValues(out.toString()).map((x) => [x.key, x.value]));
          const role = kv.get('role') ?? '(the role)';
          return [
            ...(kv.get('can_create') !== 'yes' ? [`role ${role} may not create databases (CREATEDB)`] : []),
            ...(kv.get('owns_db') !== 'yes' ? [`role ${role} does not own the database`] : []),
          ];
        })
      : Promise.resolve([]);
  // A SQLite database without a running container to look into is not measured (said, not refused).
  const measured =
    where.kind === 'sqlite' && !where.container
      ? Promise.resolve(null)
      : runStep(host, restoreSpaceStep(backupDir, where), log).then((out) => readSpace(out.toString()));
  // Both settled before either failure is thrown: no step is left running behind the lock.
  const [granted, space] = await Promise.allSettled([privileges, measured]);
  if (granted.status === 'rejected') throw granted.reason;
  if (space.status === 'rejected') throw space.reason;
  return { kind: where.kind, privileges: granted.value, space: space.value };
}

/**
 * Pure: why the restore could not run, or ''. `setDbBytes`: the set's database file; `freedBytes`:
 * what was deleted from the backup dir after the readings (retention's prune of older sets).
 */
export function restoreProofProblems(
  r: ProofReadings | null,
  setDbBytes: number,
  freedBytes: number,
  log: Log,
): string {
  if (!r) return '';
  const space = r.space && {
    ...r.space,
    backupFreeKb: r.space.backupFreeKb === null ? null : r.space.backupFreeKb + Math.floor(freedBytes / 1024),
  };
  const room = space ? spaceProblems(r.kind, space, setDbBytes) : { problems: [], unmeasured: [] };
  if (room.unmeasured.length) log.info(`not measured before the restore: ${room.unmeasured.join(', ')}`);
  return [...r.privileges, ...room.problems].join(' and ');
}

/** Where a backup plan found the database: what a deploy's proof reads while its manifest waits. */
export function proofTargetOfPlan(db: DatabaseTarget): SpaceTarget | null {
  if (db.kind === 'none') return null;
  if (db.kind === 'sqlite')
    return { kind: 'sqlite', container: db.running ? db.containerId : '', path: db.path };
  const target =
    db.via === 'database-url'
      ? { via: 'database-url' as const, url: db.url }
      : { via: 'postgres-service' as const, containerId: db.containerId };
  return {
    kind: 'postgres',
    target,
    container: target.via === 'postgres-service' ? target.containerId : null,
  };
}

/** The size of a set's database file (0 without one). */
export const setDatabaseBytes = (m: Manifest) => m.files.find((f) => f.role === 'database')?.bytes ?? 0;

/**
 * The proof for a set already written (a rollback, before it stops anything): where its database is
 * now, read, then judged. `appContainerId`: the running app container, when the caller knows it.
 */
export async function whyRestoreCannotRun(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  m: Manifest,
  backupDir: string,
  appContainerId?: string,
): Promise<string> {
  const db = m.database;
  if (db.kind === 'none') return '';
  let where: SpaceTarget;
  if (db.kind === 'postgres') {
    const target = await pgTargetOf(host, settings, m);
    where = {
      kind: 'postgres',
      target,
      container: target.via === 'postgres-service' ? target.containerId : null,
    };
  } else {
    const app =
      appContainerId ??
      (await host.docker.serviceContainers(m.project, settings.app.service)).find((c) => c.running)?.id;
    where = { kind: 'sqlite', container: app ?? '', path: db.source };
  }
  return restoreProofProblems(
    await readRestoreProof(host, log, where, backupDir),
    setDatabaseBytes(m),
    0,
    log,
  );
}

/**
 * A deploy's proof of its rollback path: read once its backup's files are written, while the manifest
 * waits for the classification (`read`, the backup's onFilesWritten), and judged once the set is
 * complete and retention has pruned. What the readings log is said under the proof's own group.
 */
export function rollbackPathProof(host: RemoteHost, backupDir: string) {
  const said = deferredLog();
  let readings: Promise<ProofReadings | null> | null = null;
  return {
    read: (plan: BackupPlan): void => {
      readings = readRestoreProof(host, said.log, proofTargetOfPlan(plan.database), backupDir);
      // Awaited only once the set is complete: a failure meanwhile is not an unhandled rejection
      // (which ends the process); `judge` or `settled` still sees it.
      readings.catch(() => undefined);
    },
    /** Awaited when the backup failed: no step is left running behind the lock. */
    settled: async (): Promise<void> => void (await readings?.catch(() => undefined)),
    /** Why the restore could not run, or ''; `unread` asks afresh if the backup never read it. */
    judge: async (
      set: { manifest: Manifest; freedBytes: number },
      log: Log,
      unread: () => Promise<string>,
    ): Promise<string> => {
      if (!readings) return unread();
      const r = await readings;
      await said.replay(log);
      return restoreProofProblems(r, setDatabaseBytes(set.manifest), set.freedBytes, log);
    },
  };
}

/** The deploy's refusal when the proof fails: nothing switched, the backup made. */
export function noRollbackPath(why: string, backupId: string): RefusedError {
  return new RefusedError(
    `the rollback this deploy may need could not restore the database: ${why}. Nothing was switched ` +
      `(the backup ${backupId} was made). Fix that (free space; grant the role CREATEDB and the ` +
      "database's ownership), or deploy with restore-database: never (a failed release then keeps its schema).",
  );
}
