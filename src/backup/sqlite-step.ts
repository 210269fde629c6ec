import { argv, bashScript, quote } from '../shell.js';
import { helperName, startHelperCommand, type HelperOwner } from './helper-containers.js';
import type { SetPaths } from './set-paths.js';
import { SQLITE_COPY_PY } from './sqlite-copy.js';
import { FIND_PYTHON } from './python-exec.js';
import type { Step } from './steps.js';

/** In the container: Python's copy ($1 → $2) and its report, then the copy's bytes; the copy removed. */
const COPY_AND_STREAM = `${FIND_PYTHON}; "$py" - "$@" && cat -- "$2"; rc=$?; rm -f -- "$2"; exit $rc`;

/**
 * SQLite through the backup API inside the app container (or, when the service is stopped, a helper
 * container mounting its volumes), then copied out to the set. The copy is not hashed here: the
 * checksum step hashes it with the set's other files, and the container's SHA-256 is compared with
 * that one, the checksum the manifest records (sqliteResult).
 */
export function sqliteStep(
  p: SetPaths,
  target: { containerId: string; running: boolean; image: string },
  sqlitePath: string,
  owner: HelperOwner,
  /**
   * A stopped service's helper is left running once the copy is out: the restore that follows in the
   * same rollback works in it (and removes it) instead of starting one of its own.
   */
  keepHelper = false,
): Step {
  const { id } = owner;
  const inContainer = `/tmp/eqmd-rollback-${id}.sqlite3`;
  const dest = `${p.tmp}/database.sqlite3`;
  const containerId = target.running ? target.containerId : helperName(id);
  const cleanup = target.running
    ? `${argv('docker', 'exec', containerId, 'rm', '-f', inContainer)} >/dev/null 2>&1 || true`
    : `docker rm -f ${helperName(id)} >/dev/null 2>&1 || true`;
  return {
    title: `Copy the SQLite database ${sqlitePath} with the backup API and verify the copy`,
    command: bashScript([
      // The trap first: a helper created by a `docker run` cut short is removed too.
      `trap ${quote(cleanup)} EXIT`,
      ...(target.running ? [] : [startHelperCommand(owner, target.containerId, target.image)]),
      // The script is part of this command's text (a heredoc), not stdin: a cut connection cannot
      // hand Python half a program. One exec finds Python, copies, then streams the copy out after
      // Python's one-line report and removes it (each exec costs a runc start): the report is read
      // off the stream's first line (bash reads a pipe a byte at a time), the rest is the file.
      `${argv('docker', 'exec', '-i', containerId, 'sh', '-c', COPY_AND_STREAM, 'sh', sqlitePath, inContainer)} <<'PY' | { IFS= read -r report && echo "report=$report" && cat > ${quote(dest)}; }\n${SQLITE_COPY_PY}\nPY`,
      // The exec that streamed the copy out removed it: no cleanup left for the app container.
      ...(target.running || keepHelper ? ['trap - EXIT'] : []),
      `sync ${quote(dest)}`,
    ]),
  };
}
