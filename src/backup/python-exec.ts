import { argv } from '../shell.js';

/**
 * Sets `py` to the container's python3 (or python), or fails with why. Python is found in the exec
 * that runs it: a separate `command -v` exec cost a process each time.
 */
export const FIND_PYTHON =
  'py=$(command -v python3 || command -v python) || ' +
  "{ echo 'no python3 or python in the container: the SQLite steps run their scripts with it' >&2; exit 3; }";
/** Runs the Python script on stdin with that Python, its arguments passed on. */
const FIND_PYTHON_AND_RUN = `${FIND_PYTHON}; exec "$py" - "$@"`;

/** `docker exec -i CONTAINER` running the script on stdin with the container's Python and `args`. */
export function pythonExec(container: string, args: readonly string[]): string {
  return argv('docker', 'exec', '-i', container, 'sh', '-c', FIND_PYTHON_AND_RUN, 'sh', ...args);
}
