import { argv, bashScript, quote, receiveStdin, stdinProof } from '../shell.js';
import type { Step } from './steps.js';

/**
 * Prints, NUL-separated, the SSH user's uid, then for every directory under the backup dir its name,
 * its owner and mode, and its manifest: list, retention and rollback read the sets from it. A set
 * is trusted only when its directory is the user's own and closed to group and others (the files in
 * it may carry a default ACL's group bits; the directory is what keeps others out).
 */
export function readManifestsStep(backupDir: string): Step {
  return {
    title: `Read the manifests in ${backupDir}`,
    command: bashScript([
      `[ -d ${quote(backupDir)} ] || exit 0`,
      `cd ${quote(backupDir)}`,
      'printf "%s\\0" "$(id -u)"',
      'shopt -s nullglob',
      'for d in */; do',
      '  d=${d%/}',
      // stat without -L: a symlink planted as a set shows as itself (mode 777), and is refused.
      '  printf "%s\\0%s\\0" "$d" "$(stat -c "%u %a" "$d" 2>/dev/null || echo "? ?")"',
      // Another user's set (mode 700) or one being pruned reads as empty: reported, never fatal.
      '  cat "$d/manifest.json" 2>/dev/null || true; printf "\\0"',
      'done',
    ]),
  };
}

/**
 * Writes a text into a file only the deploy user can read (umask 077), proven whole before it is
 * renamed into place: how the app's output of a failed verification is kept beside its backup set.
 */
export function keepFileStep(path: string, text: string): Step {
  const part = quote(`${path}.part`);
  return {
    title: `Keep ${path} (readable by the deploy user only)`,
    command: bashScript(
      [...receiveStdin(part), `chmod 600 ${part}`, `mv -f ${part} ${quote(path)}`],
      stdinProof(text),
    ),
    stdin: text,
    stdinNote: 'the text',
  };
}

/** Deletes pruned sets and their image tags; a tag still in use only warns. */
export function pruneStep(backupDir: string, sets: { id: string; tag: string }[]): Step {
  return {
    title: `Prune ${sets.length} old backup set(s)`,
    command: bashScript(
      sets.flatMap((s) => [
        `rm -rf -- ${quote(`${backupDir}/${s.id}`)}`,
        `${argv('docker', 'rmi', s.tag)} >/dev/null 2>&1 || echo ${quote(`warning=could not remove image tag ${s.tag}`)}`,
      ]),
    ),
  };
}
