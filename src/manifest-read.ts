import * as v from 'valibot';
import { backupTag } from './backup/commands.js';
import { MANIFEST_SCHEMA, MANIFEST_REASONS, type Manifest } from './manifest.js';
import {
  BACKUP_ID,
  COMPOSE_PROJECT,
  DOCKER_TAG,
  ENV_VARIABLE,
  HOSTNAME,
  isImageRepository,
  IPV6,
  PATH_CHARS,
  SERVICE,
  VOLUME,
} from './validate.js';

/**
 * A manifest is read from the host, which more than the deploy user may write (a shared backup dir,
 * an app container mounting the project dir, a restored off-site copy): it is validated like an
 * input, with the same allowlists, before any of it is used. Every field that reaches a command, a
 * path, a tag or a log has a grammar here; numbers are safe integers; the fields the action derives
 * (the backup tag, the id's time, the files' roles, the total) are recomputed and compared.
 *
 * valibot (rather than hand-written checks): one declarative schema gives the type, the checks and a
 * field path for every failure, and its modular build adds a few kilobytes to dist/.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
/** Table names as SQLite and pg_restore print them (`records_patient`, `public.records_patient`). */
const TABLE_NAME = /^[A-Za-z0-9_$."-]{1,255}$/;
const TOOL_VERSION = /^[0-9A-Za-z.+-]{1,64}$/;
/** The files a backup writes, and nothing else: no path can climb out of the set. */
const FIXED_FILES: Record<string, Manifest['files'][number]['role']> = {
  env: 'env-file',
  'compose.yml': 'compose-file',
  'database.sqlite3': 'database',
  'database.dump': 'database',
};

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

const text = (max: number) =>
  v.pipe(
    v.string(),
    v.maxLength(max, `at most ${max} characters`),
    v.check((s) => s === '' || PATH_CHARS.test(s), 'one line without control characters'),
  );
const matching = (re: RegExp, expected: string) => v.pipe(v.string(), v.regex(re, expected));
const count = v.pipe(v.number(), v.safeInteger('a whole number'), v.minValue(0, 'not negative'));
const reference = v.pipe(
  v.string(),
  v.check(isImageReference, 'an image reference (repository[:tag][@sha256:…])'),
);
const absolutePath = v.pipe(
  text(4096),
  v.check((s) => s.startsWith('/') && !s.split('/').includes('..'), 'an absolute path without ..'),
);

const fileSchema = v.object({
  path: v.pipe(
    v.string(),
    v.check(
      (p) => p in FIXED_FILES || /^volumes\/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.tar$/.test(p),
      'one of env, compose.yml, database.sqlite3, database.dump, volumes/<volume>.tar',
    ),
  ),
  role: v.picklist(['env-file', 'compose-file', 'database', 'volume']),
  bytes: count,
  sha256: matching(SHA256_HEX, 'a SHA-256 in hex'),
});

const databaseSchema = v.variant('kind', [
  v.object({ kind: v.literal('none') }),
  v.object({
    kind: v.literal('sqlite'),
    via: v.literal('app-container'),
    source: absolutePath,
    file: v.literal('database.sqlite3'),
    integrity: text(200),
    schemaFingerprint: v.union([v.literal(''), matching(SHA256_HEX, 'a SHA-256 in hex')]),
    tables: v.record(matching(TABLE_NAME, 'a table name'), count),
  }),
  v.object({
    kind: v.literal('postgres'),
    via: v.picklist(['postgres-service', 'database-url']),
    source: text(512),
    file: v.literal('database.dump'),
    integrity: text(200),
    schemaFingerprint: v.union([v.literal(''), matching(SHA256_HEX, 'a SHA-256 in hex')]),
    tables: v.record(matching(TABLE_NAME, 'a table name'), count),
  }),
]);

const volumeSchema = v.object({
  name: matching(VOLUME, 'a Docker volume name'),
  mountpoint: v.union([v.literal(''), absolutePath]),
  file: v.string(),
  entries: count,
  contentBytes: count,
});

const manifestObject = v.object({
  schema: v.literal(MANIFEST_SCHEMA),
  id: matching(BACKUP_ID, 'a backup id such as 20261124T101530Z-3fa9c1'),
  created: v.pipe(
    matching(ISO_TIME, 'an ISO 8601 UTC time'),
    v.check((s) => !Number.isNaN(Date.parse(s)), 'a real time'),
  ),
  reason: v.picklist(MANIFEST_REASONS),
  host: v.object({
    // What `hostname` printed: container and cloud hosts use more than DNS allows.
    name: v.union([v.literal(''), matching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'a host name')]),
    // How the action reached the host: user@host:port, as the SSH transport names it.
    address: v.union([
      v.literal(''),
      v.pipe(v.string(), v.check(isSshAddress, 'user@host:port as the action connected')),
    ]),
  }),
  project: matching(COMPOSE_PROJECT, 'a compose project name'),
  projectDir: absolutePath,
  service: matching(SERVICE, 'a compose service name'),
  composeFlavor: v.picklist(['v1', 'v2']),
  image: v.object({
    reference,
    id: matching(IMAGE_ID, 'an image id sha256:<64 hex>'),
    repoDigests: v.array(
      v.pipe(
        v.string(),
        v.check((s) => s.includes('@') && isImageReference(s), 'a repository@sha256:… digest'),
      ),
    ),
    backupTag: v.string(),
    variable: matching(ENV_VARIABLE, 'an environment variable name'),
    envValue: v.union([v.literal(''), reference]),
  }),
  files: v.array(fileSchema),
  database: databaseSchema,
  volumes: v.array(volumeSchema),
  verified: v.boolean(),
  checks: v.array(v.object({ check: text(200), ok: v.boolean(), detail: text(1000) })),
  totalBytes: count,
  run: v.object({
    repository: text(300),
    sha: text(300),
    runId: text(300),
    runAttempt: text(300),
    actor: text(300),
    workflow: text(300),
    serverUrl: text(300),
  }),
  restoreTarget: v.optional(matching(BACKUP_ID, 'a backup id')),
  tool: v.object({ name: v.literal('eqmd-rollback'), version: matching(TOOL_VERSION, 'a version') }),
});

type Parsed = v.InferOutput<typeof manifestObject>;

const manifestSchema = v.pipe(
  manifestObject,
  // What the action derives is recomputed: a set cannot name a foreign tag, time or file.
  v.forward(
    v.check(
      (m) => m.image.backupTag === backupTag(m.project, m.id),
      'the backup tag the action derives from the project and id',
    ),
    ['image', 'backupTag'],
  ),
  v.forward(
    v.check(
      (m) => m.id.slice(0, 16) === m.created.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'),
      'the time the id was made from',
    ),
    ['created'],
  ),
  v.forward(
    v.check(
      (m) => m.volumes.every((x) => x.file === `volumes/${x.name}.tar` && listed(m, x.file)),
      'volumes/<name>.tar, listed among the files',
    ),
    ['volumes'],
  ),
  v.forward(
    v.check((m) => filesProblem(m) === '', 'the files a backup writes, each once, with its role'),
    ['files'],
  ),
  v.forward(
    v.check((m) => m.totalBytes === m.files.reduce((a, f) => a + f.bytes, 0), 'the sum of the files'),
    ['totalBytes'],
  ),
);

const listed = (m: Pick<Parsed, 'files'>, path: string) => m.files.some((f) => f.path === path);

function filesProblem(m: Parsed): string {
  const paths = m.files.map((f) => f.path);
  if (new Set(paths).size !== paths.length) return 'a file listed twice';
  const wrongRole = m.files.find(
    (f) => f.role !== (FIXED_FILES[f.path] ?? (f.path.startsWith('volumes/') ? 'volume' : '')),
  );
  if (wrongRole) return `${wrongRole.path} with role ${wrongRole.role}`;
  if (!listed(m, 'env')) return 'no env file';
  if (m.database.kind !== 'none' && !listed(m, m.database.file)) return 'the database file is not listed';
  const volumeFiles = new Set(m.volumes.map((x) => x.file));
  const stray = m.files.find((f) => f.role === 'volume' && !volumeFiles.has(f.path));
  return stray ? `${stray.path} belongs to no volume` : '';
}

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
