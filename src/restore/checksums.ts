import type { Step } from '../backup/steps.js';
import type { ManifestFile } from '../manifest.js';
import { bashScript, quote } from '../shell.js';

/**
 * Checks the set's files against the manifest before anything is restored from it. The checksums
 * travel as positional parameters (sha256, path, sha256, path, …), not on stdin: a list cut short by
 * a dropped connection would check fewer files and still pass.
 */
export function verifySetStep(setDir: string, files: readonly ManifestFile[]): Step {
  return {
    title: `Check the backup set's checksums (${files.length} files)`,
    command: bashScript(
      [
        '[ $# -gt 0 ] || { echo "the manifest lists no files" >&2; exit 3; }',
        `cd ${quote(setDir)}`,
        `printf '%s  %s\\n' "$@" | sha256sum --quiet --strict -c -`,
      ],
      files.flatMap((f) => [f.sha256, f.path]),
    ),
  };
}

/**
 * Checks several sets against their manifests in one round trip; prints `bad=<id>` for each that
 * fails (a missing, truncated or altered file). Retention runs it before it deletes anything, so a
 * corrupted set never counts as one of the sets that justify pruning an older, intact one.
 */
export function checkSetsStep(
  backupDir: string,
  sets: readonly { id: string; files: readonly ManifestFile[] }[],
): Step {
  return {
    title: `Check the checksums of ${sets.length} backup set(s) before pruning`,
    command: bashScript(
      sets.map(
        (s) =>
          `( cd ${quote(`${backupDir}/${s.id}`)} && printf '%s\\n' ${s.files.map((f) => quote(`${f.sha256}  ${f.path}`)).join(' ')} | sha256sum --quiet --strict -c - >/dev/null 2>&1 ) || echo ${quote(`bad=${s.id}`)}`,
      ),
    ),
  };
}
