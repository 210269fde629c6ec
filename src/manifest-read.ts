import * as v from 'valibot';
import type { Manifest } from './manifest.js';
import { manifestSchema } from './manifest-schema.js';

/** The whole manifest checked; the first failure names its field. */
export function validateManifest(
  value: unknown,
): { ok: true; manifest: Manifest } | { ok: false; problem: string } {
  const r = v.safeParse(manifestSchema, value);
  if (r.success) return { ok: true, manifest: r.output as Manifest };
  const issue = r.issues[0];
  // A record's keys are the host's text too: only plain names are repeated.
  const keys = (issue.path ?? []).map((item) => String(item.key));
  const field = keys.length
    ? keys.map((k) => (/^[A-Za-z0-9_]{1,64}$/.test(k) ? k : '(a key)')).join('.')
    : '(the manifest)';
  // valibot's own messages end with what was received: host text, which is never repeated.
  const message = issue.message.replace(/ but received .*$/s, '');
  return {
    ok: false,
    problem: `manifest field ${field}: ${message.startsWith('Invalid') ? message : `expected ${message}`}`,
  };
}

export type ParsedSet =
  { dir: string; ok: true; manifest: Manifest } | { dir: string; ok: false; problem: string };

/**
 * Parses one manifest read from the host; anything unexpected is a problem, never a crash or a guess.
 * The whole manifest is validated (manifest-schema.ts): a set that fails is not used. Problems never
 * quote what the host wrote (it may be crafted to read as something else in a log).
 */
export function parseManifest(dir: string, text: string): ParsedSet {
  // The name is the host's: repeated only when it cannot read as anything but a name.
  const at = /^[A-Za-z0-9._-]{1,128}$/.test(dir) ? dir : '(a directory with an unexpected name)';
  if (!text) return { dir: at, ok: false, problem: 'no manifest.json (incomplete or foreign directory)' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { dir: at, ok: false, problem: 'manifest.json is not valid JSON' };
  }
  const checked = validateManifest(json);
  if (!checked.ok) return { dir: at, ok: false, problem: checked.problem };
  if (checked.manifest.id !== dir)
    return { dir: at, ok: false, problem: 'manifest field id does not match its directory' };
  return { dir, ok: true, manifest: checked.manifest };
}

/**
 * Why a set directory cannot be trusted, from its `uid mode` as stat printed them: not the SSH user's
 * own, or open to writes by group or others. '' when it is fine.
 */
export function ownershipProblem(meta: string, uid: string): string {
  const [owner = '', mode = ''] = meta.split(' ');
  if (!/^[0-9]+$/.test(owner) || !/^[0-7]{3,4}$/.test(mode)) return 'its directory could not be inspected';
  if (owner !== uid) return 'its directory is not owned by the SSH user';
  if (parseInt(mode, 8) & 0o022) return `its directory is writable by group or others (mode ${mode})`;
  return '';
}

/** Splits what readManifestsStep printed: the uid, then `dir\0uid mode\0manifest\0` per directory. */
export function parseManifestListing(stdout: Buffer): ParsedSet[] {
  const [uid = '', ...parts] = stdout.toString('utf8').split('\0');
  const sets: ParsedSet[] = [];
  for (let i = 0; i + 2 < parts.length; i += 3) {
    const dir = parts[i] ?? '';
    const set = parseManifest(dir, parts[i + 2] ?? '');
    const owned = ownershipProblem(parts[i + 1] ?? '', uid);
    sets.push(owned ? { dir: set.dir, ok: false, problem: `not used: ${owned}` } : set);
  }
  return sets;
}
