import { argv, bashScript, quote } from '../shell.js';

/** `sh -c COMMAND` in the service container, as its default user. */
export function inContainer(containerId: string, command: string): string {
  return bashScript([argv('docker', 'exec', containerId, 'sh', '-c', command)]);
}

/** Every expected static file must exist (and be non-empty) under the static path. */
export function staticFilesCommand(
  containerId: string,
  staticPath: string,
  files: readonly string[],
): string {
  const check =
    'dir=$1; shift; missing=; for f; do [ -s "$dir/$f" ] || missing="$missing $f"; done; ' +
    '[ -z "$missing" ] || { echo "missing or empty under $dir:$missing" >&2; exit 1; }';
  return bashScript([
    `${argv('docker', 'exec', containerId, 'sh', '-c', check, 'sh', staticPath, ...files)}`,
  ]);
}

export { quote };
