import type { Step } from '../backup/steps.js';
import { helperName, helperStartLines } from '../backup/helper-containers.js';
import { pythonExec } from '../backup/python-exec.js';
import { argv, bashScript, quote } from '../shell.js';
import { SQLITE_VERIFY_PY } from './sqlite-verify.js';
import { sqliteCarryOverLines, type SqliteCarry } from '../carry-over/step.js';

/**
 * Restores the SQLite file into its volume while the service is stopped, through a helper container
 * of an image already on the host that mounts the service's volumes at the same paths. The copy is
 * written to a temp name and verified (checksum, integrity, rows, schema); then the old file is
 * hard-linked aside, its -wal/-shm are moved aside (a stale WAL would be replayed over the restored
 * file), and the temp file is renamed into place. With `carryOver`, the writes made since the set
 * are carried into the verified copy before the swap (see sqliteCarryOverLines).
 */
export function sqliteRestoreStep(x: {
  id: string;
  projectDir: string;
  appContainer: string;
  image: string;
  sqlitePath: string;
  backupFile: string;
  expected: { sha256: string; tables: Record<string, number>; schema: string };
  carryOver?: SqliteCarry;
}): Step {
  // The name the pre-restore snapshot's helper has (the same id): left running by it, it is used.
  const helper = helperName(x.id);
  const dir = x.sqlitePath.replace(/\/[^/]*$/, '') || '/';
  const tmp = `${dir}/.eqmd-restore-${x.id}.sqlite3`;
  const aside = `${dir}/.eqmd-aside-${x.id}`;
  const swap =
    'set -e; db=$1; tmp=$2; aside=$3; ' +
    // A WAL left beside the copy would hold carried rows the rename leaves behind.
    '[ ! -s "$tmp-wal" ] || { echo "the restored copy has an unmerged WAL: not swapped in" >&2; exit 1; }; ' +
    'rm -f "$tmp-wal" "$tmp-shm"; ' +
    '[ ! -e "$db" ] || ln -f "$db" "$aside.sqlite3"; ' +
    'for s in -wal -shm -journal; do [ ! -e "$db$s" ] || mv -f "$db$s" "$aside$s"; done; ' +
    'mv -f "$tmp" "$db"; sync';
  return {
    title: `Restore the SQLite database ${x.sqlitePath} (verified copy${x.carryOver ? ', writes since carried over' : ''}, stale -wal/-shm moved aside)`,
    command: bashScript([
      // The snapshot's helper mounts the same stopped service's volumes; one is started if it is gone.
      ...helperStartLines(x, x.appContainer, x.image, helper, { reuse: true }),
      // Temp copies of interrupted runs go first (we hold the host lock: nobody else is restoring
      // here), in the exec that writes this one's (each exec costs a runc start).
      `${argv('docker', 'exec', '-i', helper, 'sh', '-c', 'rm -f "$1"/.eqmd-restore-* && cat > "$2"', 'sh', dir, tmp)} < ${quote(x.backupFile)}`,
      `${pythonExec(helper, [tmp, JSON.stringify(x.expected)])} <<'PY'\n${SQLITE_VERIFY_PY}\nPY`,
      ...(x.carryOver ? sqliteCarryOverLines(helper, tmp, x.carryOver) : []),
      argv('docker', 'exec', helper, 'sh', '-c', swap, 'sh', x.sqlitePath, tmp, aside),
      `echo ${quote(`aside=${aside}.sqlite3`)}`,
    ]),
  };
}
