import { argv, bashScript, quote } from '../shell.js';
import { TMP_OWNER_FILE } from './set-paths.js';
import type { Step } from './steps.js';

export const HELPER_LABEL = 'eqmd-rollback.helper';
/**
 * The project dir a helper container works for. A helper can outlive an interrupted run (its client
 * killed between `docker run` and the script's trap); the next run holding that project's lock removes
 * it, and no other project's.
 */
export const HELPER_PROJECT_LABEL = 'eqmd-rollback.project-dir';

/** What labels a helper container: the operation's id and the project dir whose lock covers it. */
export interface HelperOwner {
  id: string;
  projectDir: string;
}

export function helperLabelArgs(o: HelperOwner): string[] {
  return ['--label', `${HELPER_LABEL}=${o.id}`, '--label', `${HELPER_PROJECT_LABEL}=${o.projectDir}`];
}

export function helperName(id: string): string {
  return `eqmd-rollback-helper-${id}`;
}

/**
 * A container of the service's image that mounts the (stopped) service's volumes at the same paths
 * and only sleeps: the backup API can run in it when the app itself cannot be exec'd.
 */
export function startHelperCommand(
  owner: HelperOwner,
  serviceContainer: string,
  image: string,
  name = helperName(owner.id),
): string {
  return `${argv('docker', 'run', '-d', '--name', name, ...helperLabelArgs(owner), '--network', 'none', '--volumes-from', serviceContainer, '--entrypoint', 'sh', image, '-c', 'sleep 86400')} >/dev/null`;
}

/**
 * The first lines of a script that works in a named helper: the trap first (a helper created by a
 * `docker run` cut short is removed too), a leftover of the same name removed, then the helper started.
 * With `reuse`, a helper of that name already running (one this operation left) is used as it is.
 */
export function helperStartLines(
  owner: HelperOwner,
  serviceContainer: string,
  image: string,
  name: string,
  { reuse = false }: { reuse?: boolean } = {},
): string[] {
  const start = [
    `docker rm -f ${quote(name)} >/dev/null 2>&1 || true`,
    startHelperCommand(owner, serviceContainer, image, name),
  ];
  return [
    `trap ${quote(`docker rm -f ${name} >/dev/null 2>&1 || true`)} EXIT`,
    ...(reuse
      ? [
          `if [ "$(${argv('docker', 'inspect', '-f', '{{.State.Running}}', name)} 2>/dev/null)" != true ]; then`,
          ...start.map((l) => `  ${l}`),
          'fi',
        ]
      : start),
  ];
}

/** Removes a helper this operation left running when nothing came to use it. */
export function removeHelperStep(name: string): Step {
  return {
    title: `Remove the helper container ${name}`,
    command: bashScript(['docker rm -f "$1" >/dev/null 2>&1 || true'], [name]),
  };
}

/**
 * Removes what interrupted runs of this project left: helper containers, and temporary sets (by the
 * owner file prepareStep writes; a set cut off before it has one holds nothing yet and is left to the
 * post step). Only under the project's lock: no run of this project can be using them.
 */
export function sweepHelpersStep(projectDir: string, backupDir: string): Step {
  return {
    title: 'Remove helper containers and temporary sets left by interrupted runs',
    command: bashScript(
      [
        `docker ps -aq --filter ${quote(`label=${HELPER_PROJECT_LABEL}=${projectDir}`)} | while read -r c; do`,
        '  name=$(docker inspect -f "{{.Name}}" "$c" 2>/dev/null || echo "$c")',
        '  docker rm -f "$c" >/dev/null && echo "removed=${name#/}"',
        'done',
        '[ -d "$2" ] || exit 0',
        'for d in "$2"/.tmp-*/; do',
        `  if [ -f "$d${TMP_OWNER_FILE}" ] && [ "$(cat "$d${TMP_OWNER_FILE}")" = "$1" ]; then`,
        '    d=${d%/}',
        '    rm -rf -- "$d"',
        '    echo "removed_set=${d##*/}"',
        '  fi',
        'done',
      ],
      [projectDir, backupDir],
    ),
  };
}
