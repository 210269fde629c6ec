import type { Step } from '../backup/steps.js';
import { composeLine, type ComposeTarget } from '../compose.js';
import { bashScript, quote } from '../shell.js';
import { MIGRATE_BACK_PY, MIGRATION_FACTS_PY } from './script.js';

/**
 * Asks the new image's Django what it would migrate, in a throwaway container with the service's own
 * configuration and volumes (compose run, no port, no dependencies started), before anything changes.
 * The Python text is one argument of `manage.py shell -c`: constant text, quoted in the one place.
 */
export function migrationFactsStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
): Step {
  return {
    title: `Classify the migrations ${reference} would apply`,
    command: bashScript([
      `export ${variable}=${quote(reference)}`,
      // python3: official python images and Debian-based ones both have it (not always `python`).
      composeLine(
        t,
        'run',
        '--rm',
        '--no-deps',
        '-T',
        '--entrypoint',
        'python3',
        service,
        'manage.py',
        'shell',
        '-c',
        MIGRATION_FACTS_PY,
      ),
    ]),
  };
}

/**
 * Migrates the named apps back (`app:migration`, or `app:zero`) with the image of the release rolled
 * back from, in a throwaway container with the service's configuration, while the service is stopped.
 */
export function migrateBackStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
  targets: readonly string[],
): Step {
  return {
    title: `Migrate ${targets.join(', ')} back with ${reference}`,
    command: bashScript([
      `export ${variable}=${quote(reference)}`,
      composeLine(
        t,
        'run',
        '--rm',
        '--no-deps',
        '-T',
        '-e',
        `EQMD_MIGRATE_BACK_TO=${targets.join(' ')}`,
        '--entrypoint',
        'python3',
        service,
        'manage.py',
        'shell',
        '-c',
        MIGRATE_BACK_PY,
      ),
    ]),
  };
}
