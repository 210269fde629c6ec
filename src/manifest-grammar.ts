import { DOCKER_TAG, HOSTNAME, isImageRepository, IPV6 } from './validate.js';

/**
 * Grammars of the manifest's own fields, beside the input grammars of validate.ts it shares: what a
 * manifest read from the host may hold (manifest-schema.ts applies them).
 */

export const SHA256_HEX = /^[0-9a-f]{64}$/;
export const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
/** Table names as SQLite and pg_restore print them (`records_patient`, `public.records_patient`). */
export const TABLE_NAME = /^[A-Za-z0-9_$."-]{1,255}$/;
export const TOOL_VERSION = /^[0-9A-Za-z.+-]{1,64}$/;

/** repository[:tag][@sha256:…], or an image id: Docker's grammar, which no shell word can pass. */
export function isImageReference(value: string): boolean {
  if (IMAGE_ID.test(value)) return true;
  const [name = '', digest, extra] = value.split('@');
  if (extra !== undefined || (digest !== undefined && !IMAGE_ID.test(digest))) return false;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined];
  return value.length <= 512 && isImageRepository(repo) && (tag === undefined || DOCKER_TAG.test(tag));
}

/** `user@host:port` with the same grammars as the username, host and port inputs. */
export function isSshAddress(value: string): boolean {
  const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,31})@(.+):([0-9]{1,5})$/.exec(value);
  const host = m?.[2] ?? '';
  return !!m && (HOSTNAME.test(host) || (host.includes(':') && IPV6.test(host))) && Number(m[3]) <= 65535;
}
