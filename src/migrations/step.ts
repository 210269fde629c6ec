import type { Step } from '../backup/steps.js';
import { HELPER_PROJECT_LABEL } from '../backup/helper-containers.js';
import { composeLine, type ComposeTarget } from '../compose.js';
import { CONFIG_HASH_LABEL } from '../deploy/config-check.js';
import type { ContainerInfo } from '../docker-api.js';
import type { RunLikeSpec } from '../docker-run-like.js';
import { bashScript, quote } from '../shell.js';
import { MIGRATE_BACK_PY, MIGRATION_FACTS_PY } from './script.js';

/**
 * `manage.py shell -c SCRIPT` in a throwaway container of `reference` with the service's own
 * configuration and volumes (compose run, no port, no dependencies started), labelled as a helper of the
 * project so that the sweep of an interrupted run removes it. The script is constant
 * text, one argument quoted in the one place; data reaches it as environment values (`env`, validated).
 * python3: official python images and Debian-based ones both have it (not always `python`).
 */
function djangoShellStep(
  title: string,
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
  script: string,
  env: readonly string[] = [],
): Step {
  return {
    title,
    command: bashScript([
      `export ${variable}=${quote(reference)}`,
      composeLine(
        t,
        'run',
        '--rm',
        '--no-deps',
        '-T',
        // A helper of this project's lock: a run killed meanwhile leaves it to the next run's sweep,
        // never to race that run (a migrate-back still going while the re-run decides).
        '--label',
        `${HELPER_PROJECT_LABEL}=${t.projectDir}`,
        ...env.flatMap((e) => ['-e', e]),
        '--entrypoint',
        'python3',
        service,
        'manage.py',
        'shell',
        '-c',
        script,
      ),
    ]),
  };
}

/** Asks the new image's Django what it would migrate, before anything changes. */
export function migrationFactsStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
): Step {
  const title = `Classify the migrations ${reference} would apply`;
  return djangoShellStep(title, t, variable, reference, service, MIGRATION_FACTS_PY);
}

/** The classification run beside the service's running container, through the Docker API. */
export interface ClassifyLike {
  /** The running container whose network, volumes and service environment the run shares. */
  container: string;
  service: string;
  /** The configuration hash compose labelled it with: the run is only valid while it is the service's. */
  configHash: string;
  spec: RunLikeSpec;
}

/**
 * The same classification as migrationFactsStep, beside the running container (see runLike): planned
 * when the service has a running container that compose labelled with its configuration hash; run
 * only if the configuration check prints that hash again (nothing changed the service since).
 */
export function migrationFactsLike(
  container: ContainerInfo | null,
  service: string,
  reference: string,
  projectDir: string,
): ClassifyLike | null {
  const configHash = container?.labels[CONFIG_HASH_LABEL] ?? '';
  if (!container?.running || !/^[0-9a-f]{64}$/.test(configHash)) return null;
  return {
    container: container.id,
    service,
    configHash,
    spec: {
      image: reference,
      entrypoint: ['python3'],
      cmd: ['manage.py', 'shell', '-c', MIGRATION_FACTS_PY],
      labels: { [HELPER_PROJECT_LABEL]: projectDir },
    },
  };
}

/**
 * Migrates the named apps back (`app:migration`, or `app:zero`) with the image of the release rolled
 * back from, while the service is stopped.
 */
export function migrateBackStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
  targets: readonly string[],
  /** How the operator knows the image, when `reference` is the action's tag of it. */
  shownAs = reference,
): Step {
  return djangoShellStep(
    `Migrate ${targets.join(', ')} back with ${shownAs}`,
    t,
    variable,
    reference,
    service,
    MIGRATE_BACK_PY,
    [`EQMD_MIGRATE_BACK_TO=${targets.join(' ')}`],
  );
}
