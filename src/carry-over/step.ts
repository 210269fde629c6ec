import { pythonExec } from '../backup/python-exec.js';
import { argv, quote } from '../shell.js';
import { CARRY_OVER_PY } from './script.js';

/** Where the carry-over's outcome is in the restore step's output: `carry_over=<report>` or `carry_failed=<why>`. */
export const CARRIED_KEY = 'carry_over';
export const CARRY_FAILED_KEY = 'carry_failed';

/**
 * The end of a carry-over run, after its `if …; then`: the report written to PART (a shell word, mode
 * 0600) is moved to REPORT and its last line printed as `carry_over=`; or the partial report is removed
 * and `carry_failed=` printed with WHY (a shell expression; FALLBACK when it is empty). One place for
 * the protocol carriedBy (operations/restore.ts) reads, for SQLite and PostgreSQL alike.
 */
export function carryOutcomeLines(part: string, report: string, why: string, fallback = ''): string[] {
  return [
    `  mv -f ${part} ${report}`,
    `  printf '${CARRIED_KEY}=%s\\n' "$(tail -n 1 ${report})"`,
    'else',
    `  rm -f ${part}`,
    `  why=${why}`,
    `  printf '${CARRY_FAILED_KEY}=%s\\n' "\${why:-${fallback}}"`,
    'fi',
  ];
}

/** The replaced database the carry-over reads: the pre-restore snapshot's copy, and where its report goes. */
export interface SqliteCarry {
  replacedFile: string;
  replacedSha256: string;
  /** On the host, in the snapshot's set: keys and reasons (still medical context), mode 0600. */
  report: string;
}

/**
 * Lines of the SQLite restore script that carry the writes made since the set into the verified
 * restored copy `live` before it is swapped in: a kill before the swap leaves the live database as it
 * was (the re-run snapshots it again and carries again); after it, the swapped-in file already holds
 * the carried rows. Run in the restore's helper (the previous release's image, the service's volumes):
 * the replaced database is copied into it, checked against its checksum, and compared there. A
 * carry-over that fails leaves the copy as restored (its transaction never commits) and says why on a
 * `carry_failed=` line; the restore goes on: the rows stay in the snapshot.
 */
export function sqliteCarryOverLines(helper: string, live: string, x: SqliteCarry): string[] {
  const copy = `/tmp/eqmd-replaced.sqlite3`;
  const part = `${x.report}.part`;
  return [
    `${argv('docker', 'exec', '-i', helper, 'sh', '-c', 'cat > "$1"', 'sh', copy)} < ${quote(x.replacedFile)}`,
    // Mode 0600 before a byte is written: a default ACL on the project dir would widen the umask's.
    `install -m 600 /dev/null ${quote(part)}`,
    `if err=$(${pythonExec(helper, [live, copy, x.replacedSha256])} 2>&1 >${quote(part)} <<'PY'\n${CARRY_OVER_PY}\nPY\n); then`,
    // Python's last line: the exception, or the script's own reason.
    ...carryOutcomeLines(quote(part), quote(x.report), `"$(printf '%s\\n' "$err" | tail -n 1)"`),
  ];
}
