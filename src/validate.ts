import { InputError } from './errors.js';

/** Allowlists for input values. Each check throws an InputError naming the input, value and expected form. */

export const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
export const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
export const COMPOSE_PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const SERVICE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const ENV_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const VOLUME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Control characters (newline above all) would break a command line; a path never needs them.
// eslint-disable-next-line no-control-regex
export const PATH_CHARS = /^[^\0-\x1f\x7f]+$/;
const REPO_PATH = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
export const IMAGE_REPOSITORY = new RegExp(
  `^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?/)?${REPO_PATH}(?:/${REPO_PATH})*$`,
);
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
const ARTIFACT_NAME = /^[^"<>:|*?\\/\r\n]{1,200}$/;
export const BACKUP_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/;

export function oneOf<T extends string>(input: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(input, value, `one of: ${allowed.join(' | ')}`);
}

/** YAML 1.2 core booleans, as the Actions toolkit accepts them. */
export function bool(input: string, value: string): boolean {
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw new InputError(input, value, 'true or false');
}

export function integer(input: string, value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InputError(input, value, `a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

export function host(input: string, value: string): string {
  if (HOSTNAME.test(value) || (value.includes(':') && IPV6.test(value))) return value;
  throw new InputError(input, value, 'a host name or IP address (letters, digits, dots, hyphens)');
}

export function username(input: string, value: string): string {
  if (USERNAME.test(value)) return value;
  throw new InputError(
    input,
    value,
    'a user name of letters, digits, _ . - (at most 32, not starting with -)',
  );
}

export function composeProject(input: string, value: string): string {
  if (COMPOSE_PROJECT.test(value)) return value;
  throw new InputError(input, value, 'a compose project name: lower-case letters, digits, _ and -');
}

export function service(input: string, value: string): string {
  if (SERVICE.test(value)) return value;
  throw new InputError(input, value, 'a compose service name: letters, digits, _ . -');
}

export function envVariable(input: string, value: string): string {
  if (ENV_VARIABLE.test(value)) return value;
  throw new InputError(input, value, 'an environment variable name such as EQMD_IMAGE');
}

export function volumeName(input: string, value: string): string {
  if (VOLUME.test(value)) return value;
  throw new InputError(
    input,
    value,
    'a Docker volume name: letters, digits, _ . - (not starting with - or .)',
  );
}

/**
 * Docker's repository grammar: the first component is a registry only when it has a dot or a port or
 * is `localhost`; otherwise it is a path component, lower-case like the rest (`Org/eqmd` is invalid).
 */
export function isImageRepository(value: string): boolean {
  if (!IMAGE_REPOSITORY.test(value) || value.length > 255) return false;
  const [first = ''] = value.split('/');
  return (
    !value.includes('/') ||
    first.includes('.') ||
    first.includes(':') ||
    first === 'localhost' ||
    new RegExp(`^${REPO_PATH}$`).test(first)
  );
}

export function imageRepository(input: string, value: string): string {
  if (isImageRepository(value)) return value;
  throw new InputError(input, value, 'an image repository without tag or digest, e.g. ghcr.io/org/eqmd');
}

export function tag(input: string, value: string): string {
  if (DOCKER_TAG.test(value)) return value;
  throw new InputError(
    input,
    value,
    'a Docker tag matching ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$, e.g. v1.2.0',
  );
}

export function backupId(input: string, value: string): string {
  if (BACKUP_ID.test(value)) return value;
  throw new InputError(input, value, 'a backup id as printed by this action, e.g. 20261124T101530Z-3fa9c1');
}

/** A path on the host: no control characters, no `..` segment (so it cannot climb out of project-dir). */
export function path(input: string, value: string, opts: { absolute?: boolean } = {}): string {
  const expected = opts.absolute
    ? 'an absolute path (starting with /) without .. segments'
    : 'a path without .. segments';
  if (!PATH_CHARS.test(value) || value.split('/').includes('..'))
    throw new InputError(input, value, expected);
  if (opts.absolute && !value.startsWith('/')) throw new InputError(input, value, expected);
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

/** `SHA256:…` fingerprints as OpenSSH prints them, comma- or newline-separated. Returns the base64 parts. */
export function fingerprints(input: string, value: string): string[] {
  return list(value).map((item) => {
    const m = FINGERPRINT.exec(item);
    if (!m?.[1]) {
      throw new InputError(
        input,
        item,
        'SHA256:<43 base64 characters>, as printed by `ssh-keygen -l -E sha256 -f KEY.pub`',
      );
    }
    return m[1];
  });
}

export function artifactName(input: string, value: string): string {
  if (ARTIFACT_NAME.test(value)) return value;
  throw new InputError(
    input,
    value,
    'an artifact name of at most 200 characters without " : < > | * ? \\ / or newlines',
  );
}

/** Free text that will be one argument: no control characters (a newline would start a new command). */
export function singleLine(input: string, value: string): string {
  if (PATH_CHARS.test(value) && value.length <= 256) return value;
  throw new InputError(input, value, 'one line of at most 256 characters');
}

/** A GitHub environment name: what the repository's Environments page lists (at most 255 characters). */
export function environmentName(input: string, value: string): string {
  if (PATH_CHARS.test(value) && value.length <= 255) return value;
  throw new InputError(
    input,
    value,
    'an environment name of at most 255 characters on one line, e.g. production',
  );
}

/** An http(s) URL a person opens in a browser: no credentials in it, since it is shown on GitHub. */
export function webUrl(input: string, value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (
    url &&
    PATH_CHARS.test(value) &&
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    !url.username &&
    !url.password
  ) {
    return value;
  }
  throw new InputError(input, value, 'an http(s) URL without credentials, e.g. https://eqmd.example.org/');
}

/** Splits a comma- or newline-separated list, dropping blanks. */
export function list(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
