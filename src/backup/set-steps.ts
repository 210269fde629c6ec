import { argv, bashScript, quote, receiveStdin, stdinProof } from '../shell.js';
import { HELPER_LABEL } from './helper-containers.js';
import { TMP_OWNER_FILE, type SetPaths } from './set-paths.js';
import type { Step } from './steps.js';

export function prepareStep(p: SetPaths, envPath: string, composePath: string, projectDir: string): Step {
  return {
    title: 'Create the temporary backup set and copy the env and compose files',
    command: bashScript([
      `mkdir -p ${quote(p.backupDir)}`,
      `mkdir ${quote(p.tmp)}`,
      // umask is not enough: a default ACL on the parent (common on shared hosts) overrides it.
      `chmod go= ${quote(p.tmp)}`,
      `printf '%s\\n' ${quote(projectDir)} > ${quote(`${p.tmp}/${TMP_OWNER_FILE}`)}`,
      `cp -- ${quote(envPath)} ${quote(`${p.tmp}/env`)}`,
      `cp -- ${quote(composePath)} ${quote(`${p.tmp}/compose.yml`)}`,
    ]),
  };
}

export function tagImageStep(imageId: string, tag: string): Step {
  return {
    title: `Keep the running image as ${tag}`,
    command: bashScript([argv('docker', 'tag', imageId, tag)]),
  };
}

/**
 * Syncs every file, then reads each back in full for its size and SHA-256: the checksums the manifest
 * records, and the one the SQLite copy is proven against (no earlier step hashes a file of the set).
 */
export function checksumStep(p: SetPaths): Step {
  return {
    title: 'Sync every file and record its size and SHA-256',
    command: bashScript([
      `cd ${quote(p.tmp)}`,
      `find . -type f ! -name manifest.json ! -name ${TMP_OWNER_FILE} -print0 | xargs -0 -r sync --`,
      `find . -type f ! -name manifest.json ! -name ${TMP_OWNER_FILE} | sed 's|^\\./||' | sort | while IFS= read -r f; do`,
      `  printf 'file=%s=%s=%s\\n' "$(stat -c %s "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"`,
      'done',
    ]),
  };
}

/**
 * Writes the manifest, then makes the set appear under its final name in one rename. The manifest
 * arrives on stdin and is proven whole (length and SHA-256) before the rename: a set is never
 * committed with a manifest cut short by a dropped connection.
 */
export function finalizeStep(p: SetPaths, manifestJson: string): Step {
  const part = quote(`${p.tmp}/manifest.json.part`);
  return {
    title: 'Write manifest.json and rename the set into place',
    command: bashScript(
      [
        ...receiveStdin(part),
        `sync ${part}`,
        `mv -f ${part} ${quote(`${p.tmp}/manifest.json`)}`,
        `rm -f ${quote(`${p.tmp}/${TMP_OWNER_FILE}`)}`,
        `sync ${quote(`${p.tmp}/manifest.json`)} ${quote(p.tmp)}`,
        `mv -T ${quote(p.tmp)} ${quote(p.final)}`,
        `sync ${quote(p.backupDir)}`,
      ],
      stdinProof(manifestJson),
    ),
    stdin: manifestJson,
    stdinNote: 'manifest.json',
  };
}

/** Undoes a failed backup: the partial set, helper containers, the in-container copy, the tag. */
export function cleanupStep(
  p: SetPaths,
  id: string,
  tag: string | null,
  appContainerId: string | null,
): Step {
  return {
    title: 'Remove what the failed backup left behind',
    command: bashScript([
      `rm -rf -- ${quote(p.tmp)}`,
      `docker ps -aq --filter ${quote(`label=${HELPER_LABEL}=${id}`)} | xargs -r docker rm -f >/dev/null || true`,
      ...(appContainerId
        ? [
            `${argv('docker', 'exec', appContainerId, 'rm', '-f', `/tmp/eqmd-rollback-${id}.sqlite3`)} >/dev/null 2>&1 || true`,
          ]
        : []),
      ...(tag ? [`${argv('docker', 'rmi', tag)} >/dev/null 2>&1 || true`] : []),
    ]),
  };
}
