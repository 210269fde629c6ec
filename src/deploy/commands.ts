import type { Step } from '../backup/steps.js';
import { composeLine, type ComposeTarget } from '../compose.js';
import { argv, bashScript, quote, readSecretLine } from '../shell.js';

/** Registry host of a repository reference (Docker Hub when the first part is not a host). */
export function registryOf(repository: string): string {
  const first = repository.split('/')[0] ?? '';
  return repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

/** The repository part of an image reference: without tag or digest. */
export function repositoryOf(reference: string): string {
  const noDigest = reference.split('@')[0] ?? reference;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export interface RegistryLogin {
  registry: string;
  username: string;
  /** Secret: sent on stdin only. */
  password: string;
}

/**
 * Pulls the release. With a registry login, the login lives in a temporary DOCKER_CONFIG that a trap
 * removes, so no token is left in the deploy user's ~/.docker/config.json on the host.
 */
export function pullStep(reference: string, login?: RegistryLogin): Step {
  const pull = [
    `${argv('docker', 'pull', '-q', reference)} >/dev/null`,
    `docker image inspect -f '{{.Id}}' ${quote(reference)}`,
  ];
  if (!login) return { title: `Pull ${reference}`, command: bashScript(pull) };
  return {
    title: `Log in to ${login.registry} (a temporary docker config) and pull ${reference}`,
    command: bashScript([
      // A password cut short by a dropped connection must not reach `docker login` (see readSecretLine).
      readSecretLine('eqmd_password', 'the registry password'),
      'DOCKER_CONFIG=$(mktemp -d)',
      'export DOCKER_CONFIG',
      `trap 'rm -rf "$DOCKER_CONFIG"' EXIT`,
      `printf '%s' "$eqmd_password" | ${argv('docker', 'login', login.registry, '-u', login.username, '--password-stdin')} >/dev/null`,
      ...pull,
    ]),
    stdin: `${login.password}\n`,
    stdinNote: 'the registry password',
  };
}

/**
 * The pre-deploy command runs in a throwaway container of the new image, with the service's own
 * configuration (compose run), before anything changes. The shell's variable wins over the env file.
 */
export function preDeployStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
  command: string,
): Step {
  return {
    title: `Run the pre-deploy command in ${reference}`,
    command: bashScript([
      `export ${variable}=${quote(reference)}`,
      composeLine(t, 'run', '--rm', '--no-deps', '-T', '--entrypoint', 'sh', service, '-c', command),
    ]),
  };
}

/**
 * Rewrites only the image variable's line(s) in the env file: every other byte (comments, order,
 * CRLF endings, a missing final newline) is kept. Written to a temp file beside it, synced, renamed.
 * The file, the variable and the reference are positional parameters: the script is constant text,
 * and the name is compared as a string, never used as a pattern (a reference read from a tampered
 * manifest once reached a sed expression, whose `e` flag runs commands).
 */
export function setImageVariableStep(envPath: string, variable: string, reference: string): Step {
  return {
    title: `Set ${variable}=${reference} in ${envPath}`,
    command: bashScript(
      [
        'f=$1 var=$2 ref=$3',
        'mapfile -t lines < "$f"',
        'ends_nl=1; [ ! -s "$f" ] || [ -z "$(tail -c1 "$f")" ] || ends_nl=0',
        "re='^([[:space:]]*)([A-Za-z_][A-Za-z0-9_]*)([[:space:]]*=)'",
        'tmp=$(mktemp "$(dirname "$f")/.eqmd-rollback-env.XXXXXX")',
        `trap 'rm -f "$tmp"' EXIT`,
        'found=0 i=0',
        'for line in "${lines[@]}"; do',
        "  i=$((i + 1)) cr='' body=$line",
        "  case $line in *$'\\r') cr=$'\\r' body=${line%$'\\r'} ;; esac",
        '  if [[ $body =~ $re ]] && [ "${BASH_REMATCH[2]}" = "$var" ]; then',
        `    printf '%s%s%s' "\${BASH_REMATCH[0]}" "$ref" "$cr"; found=1`,
        `  else printf '%s' "$line"; fi`,
        `  if [ "$i" -lt "\${#lines[@]}" ] || [ "$ends_nl" = 1 ]; then printf '\\n'; fi`,
        'done > "$tmp"',
        '[ "$found" = 1 ] || { echo "$var is not set in $f" >&2; exit 3; }',
        'chmod --reference="$f" "$tmp"',
        'chown --reference="$f" "$tmp" 2>/dev/null || true',
        'sync "$tmp"',
        'mv -f "$tmp" "$f"',
        'sync "$(dirname "$f")"',
      ],
      [envPath, variable, reference],
    ),
  };
}

/** Puts a saved env file back, atomically, keeping the current file's mode. */
export function restoreEnvStep(savedEnv: string, envPath: string): Step {
  return {
    title: `Put ${envPath} back from the backup set`,
    command: bashScript([
      `f=${quote(envPath)}`,
      'tmp=$(mktemp "$(dirname "$f")/.eqmd-rollback-env.XXXXXX")',
      `trap 'rm -f "$tmp"' EXIT`,
      `cat ${quote(savedEnv)} > "$tmp"`,
      '[ ! -e "$f" ] || { chmod --reference="$f" "$tmp"; chown --reference="$f" "$tmp" 2>/dev/null || true; }',
      'sync "$tmp"',
      'mv -f "$tmp" "$f"',
      'sync "$(dirname "$f")"',
    ]),
  };
}

/**
 * Points the previous reference at the exact backed-up image again. Retagging `eqmd:latest` (the
 * seed's emergency rollback) changes nothing when compose runs the image named by the env file.
 */
export function retagStep(backupTag: string, reference: string): Step {
  return {
    title: `Point ${reference} at the backed-up image ${backupTag}`,
    command: bashScript([argv('docker', 'tag', backupTag, reference)]),
  };
}

export function upStep(t: ComposeTarget, service: string): Step {
  return {
    title: `Start ${service} (compose up -d --no-deps)`,
    command: bashScript([composeLine(t, 'up', '-d', '--no-deps', service)]),
  };
}

export function stopStep(t: ComposeTarget, service: string): Step {
  return { title: `Stop ${service}`, command: bashScript([composeLine(t, 'stop', service)]) };
}

/**
 * A candidate: the new image with the service's config, beside the service on the project network;
 * blue-green publishes it on the staging port, zero-downtime (null) leaves it to the proxy.
 */
export function candidateStartStep(
  t: ComposeTarget,
  variable: string,
  reference: string,
  service: string,
  name: string,
  stagingPort: number | null,
  containerPort: string | null,
): Step {
  const publish =
    stagingPort && containerPort
      ? ['-p', `127.0.0.1:${stagingPort}:${containerPort.replace(/\/tcp$/, '')}`]
      : [];
  return {
    title: publish.length
      ? `Start a candidate of ${reference} on 127.0.0.1:${stagingPort}`
      : `Start a candidate of ${reference} beside ${service}`,
    command: bashScript([
      `docker rm -f ${quote(name)} >/dev/null 2>&1 || true`,
      `export ${variable}=${quote(reference)}`,
      `${composeLine(t, 'run', '-d', '--no-deps', '--name', name, ...publish, service)} >/dev/null`,
      `docker inspect -f '{{.Id}}' ${quote(name)}`,
    ]),
  };
}

export function removeContainerStep(name: string): Step {
  return {
    title: `Remove ${name}`,
    command: bashScript([`docker rm -f ${quote(name)} >/dev/null 2>&1 || true`]),
  };
}
