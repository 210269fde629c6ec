import type { Step } from '../backup/steps.js';
import { helperStartLines } from '../backup/helper-containers.js';
import { argv, bashScript, quote } from '../shell.js';
import { CARRY_OVER_PY } from './script.js';

/**
 * Carries the writes made since the set into the restored SQLite file (the service stopped), through a
 * helper container of the previous release's image mounting the service's volumes: the replaced
 * database (the pre-restore snapshot's copy, on the host) is copied into the helper, checked against
 * its checksum, and compared there. The report (keys and reasons, no values: still medical context)
 * is kept beside the snapshot, mode 0600, and printed for the counts.
 */
export function sqliteCarryOverStep(x: {
  id: string;
  projectDir: string;
  appContainer: string;
  image: string;
  sqlitePath: string;
  replacedFile: string;
  replacedSha256: string;
  report: string;
}): Step {
  const helper = `eqmd-rollback-carry-${x.id}`;
  const copy = `/tmp/eqmd-replaced-${x.id}.sqlite3`;
  return {
    title: `Carry the writes made since the set over into ${x.sqlitePath}`,
    command: bashScript([
      ...helperStartLines(x, x.appContainer, x.image, helper),
      `${argv('docker', 'exec', '-i', helper, 'sh', '-c', 'cat > "$1"', 'sh', copy)} < ${quote(x.replacedFile)}`,
      `py=$(${argv('docker', 'exec', helper, 'sh', '-c', 'command -v python3 || command -v python')})`,
      // Mode 0600 before a byte is written: a default ACL on the project dir would widen the umask's.
      `install -m 600 /dev/null ${quote(`${x.report}.part`)}`,
      `${argv('docker', 'exec', '-i', helper)} "$py" - ${argv(x.sqlitePath, copy, x.replacedSha256)} <<'PY' | tee ${quote(`${x.report}.part`)}\n${CARRY_OVER_PY}\nPY`,
      `mv -f ${quote(`${x.report}.part`)} ${quote(x.report)}`,
    ]),
  };
}
