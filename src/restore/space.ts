import type { Step } from '../backup/steps.js';
import { parseKeyValues } from '../backup/key-values.js';
import { argv, bashScript } from '../shell.js';
import { pgPrelude, pgStdin, type PgTarget } from './postgres.js';

/** Where the database a rollback would restore lives, to measure it and the room beside it. */
export type SpaceTarget =
  | { kind: 'sqlite'; container: string; path: string }
  | { kind: 'postgres'; target: PgTarget; container: string | null };

/** The second line's 4th field of `df -Pk`: kilobytes available to the user. */
const AVAILABLE_KB = "awk 'NR == 2 { print $4 }'";

/**
 * Measures, read-only, what a rollback's restore would need room for: free space in the backup dir
 * (its pre-restore snapshot holds a copy of the live database) and beside the database (the restored
 * copy is written next to the live one before the swap), and the live database's size. Printed as
 * `backup_free_kb=`, `db_free_kb=`, `live_bytes=` lines; a value that could not be measured is empty.
 * $1: the backup dir.
 */
export function restoreSpaceStep(backupDir: string, t: SpaceTarget): Step {
  const free = (where: string) => `df -Pk -- "${where}" 2>/dev/null | ${AVAILABLE_KB} || true`;
  const lines =
    t.kind === 'sqlite'
      ? [
          // One exec for both (each costs a process in the container): the free space where the
          // database's directory is, then the live file and its WAL, what the snapshot copies.
          `eqmd_db=$(${argv('docker', 'exec', t.container, 'sh', '-c', 'df -Pk -- "$1" 2>/dev/null; echo "live_bytes=$(cat -- "$2" "$2-wal" 2>/dev/null | wc -c)"', 'sh', t.path.replace(/\/[^/]*$/, '') || '/', t.path)} || true)`,
          `echo "db_free_kb=$(printf '%s\\n' "$eqmd_db" | ${AVAILABLE_KB})"`,
          `printf '%s\\n' "$eqmd_db" | grep '^live_bytes=' || echo live_bytes=`,
        ]
      : [
          ...pgPrelude(t.target),
          t.container
            ? `echo "db_free_kb=$(${argv('docker', 'exec', t.container, 'sh', '-c', 'df -Pk -- "${PGDATA:-/var/lib/postgresql/data}"')} 2>/dev/null | ${AVAILABLE_KB} || true)"`
            : // A server reached by database-url: its disk is not ours to see.
              'echo "db_free_kb="',
          `echo "live_bytes=$(pg psql -X -q -At -d "$db" -c 'SELECT pg_database_size(current_database())' || true)"`,
        ];
  return {
    title: 'Measure the room a rollback would need (backup dir, beside the database)',
    command: bashScript([`echo "backup_free_kb=$(${free('$1')})"`, ...lines], [backupDir]),
    ...(t.kind === 'postgres' ? pgStdin(t.target) : {}),
  };
}

export interface SpaceMeasure {
  backupFreeKb: number | null;
  dbFreeKb: number | null;
  liveBytes: number | null;
}

export function readSpace(stdout: string): SpaceMeasure {
  const kv = new Map(parseKeyValues(stdout).map((x) => [x.key, x.value.trim()]));
  const num = (k: string) => {
    const v = kv.get(k) ?? '';
    return /^\d{1,18}$/.test(v) ? Number(v) : null;
  };
  return { backupFreeKb: num('backup_free_kb'), dbFreeKb: num('db_free_kb'), liveBytes: num('live_bytes') };
}

/** Room kept free on top of the estimate: a database grows while the rollback waits, and files have blocks. */
const MARGIN_BYTES = 1 << 20;
const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/**
 * Pure: would the restore's copies fit? The snapshot needs the live database's size in the backup
 * dir; the restored copy needs the set's database size (SQLite) or the live one's (PostgreSQL, a
 * fresh database beside it) next to the database; each with 10% and 1 MiB to spare. What could not be
 * measured is said, not refused: a missing `df` must not block every deploy.
 */
export function spaceProblems(
  kind: 'sqlite' | 'postgres',
  m: SpaceMeasure,
  setDbBytes: number,
): { problems: string[]; unmeasured: string[] } {
  const need = (bytes: number) => Math.ceil(bytes * 1.1) + MARGIN_BYTES;
  const problems: string[] = [];
  const unmeasured: string[] = [];
  const live = m.liveBytes ?? setDbBytes;
  if (m.liveBytes === null) unmeasured.push('the live database size (the set’s is used)');
  if (m.backupFreeKb === null) unmeasured.push('free space in the backup dir');
  else if (m.backupFreeKb * 1024 < need(live))
    problems.push(
      `the backup dir has ${mib(m.backupFreeKb * 1024)} free; the pre-restore snapshot needs about ${mib(need(live))}`,
    );
  const restored = kind === 'sqlite' ? setDbBytes : live;
  if (m.dbFreeKb === null) unmeasured.push('free space beside the database');
  else if (m.dbFreeKb * 1024 < need(restored))
    problems.push(
      `the database's disk has ${mib(m.dbFreeKb * 1024)} free; the restored copy needs about ${mib(need(restored))}`,
    );
  return { problems, unmeasured };
}
