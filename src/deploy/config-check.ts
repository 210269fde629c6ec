import type { Step } from '../backup/steps.js';
import { composeLine, type ComposeTarget } from '../compose.js';
import { bashScript } from '../shell.js';

/**
 * Validates the whole compose file (as `config -q` does: v1 and v2 refuse the same files) and prints
 * the service's configuration hash, which compose also labels the service's containers with: equal,
 * the running container was created from this configuration (see migrationFactsLike).
 */
export function composeConfigStep(t: ComposeTarget, service: string): Step {
  return {
    title: 'Check that the compose configuration is valid',
    command: bashScript([`${composeLine(t, 'config', '--hash', service)}`]),
  };
}

/** Compose's label on a service's containers: the hash of the configuration they were created from. */
export const CONFIG_HASH_LABEL = 'com.docker.compose.config-hash';

/** The hash `config --hash SERVICE` printed (`SERVICE HASH`), or '' when its output is not that. */
export function readConfigHash(stdout: string, service: string): string {
  const lines = stdout.split('\n').filter((l) => l.trim());
  const m = lines.length === 1 ? /^(\S+) ([0-9a-f]{64})$/.exec(lines[0]!.trim()) : null;
  return m && m[1] === service ? m[2]! : '';
}
