import * as v from 'valibot';
import { migrationReportSchema } from './migrations/schema.js';
import { idTime } from './backup/backup-id.js';
import { backupTag } from './backup/set-paths.js';
import { MANIFEST_SCHEMA, MANIFEST_REASONS, ROLLBACK_MODES } from './manifest.js';
import {
  IMAGE_ID,
  isImageReference,
  isSshAddress,
  ISO_TIME,
  SHA256_HEX,
  TABLE_NAME,
  TOOL_VERSION,
} from './manifest-grammar.js';
import { FIXED_FILES, filesProblem, listed } from './manifest-files.js';
import { BACKUP_ID, COMPOSE_PROJECT, ENV_VARIABLE, PATH_CHARS, SERVICE, VOLUME } from './validate.js';

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

const text = (max: number) =>
  v.pipe(
    v.string(),
    v.maxLength(max, `at most ${max} characters`),
    v.check((s) => s === '' || PATH_CHARS.test(s), 'one line without control characters'),
  );
/** How long after its id a set's `created` may be. */
const CREATED_WITHIN_MS = 60 * 60 * 1000;
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
    // Absent in sets made before it was recorded: such a run counts as no operator's.
    event: v.optional(matching(/^[a-z_]{0,64}$/, 'a GitHub event name'), ''),
  }),
  restoreTarget: v.optional(matching(BACKUP_ID, 'a backup id')),
  rollbackMode: v.optional(v.picklist(ROLLBACK_MODES)),
  migrations: v.optional(migrationReportSchema),
  tool: v.object({ name: v.literal('eqmd-rollback'), version: matching(TOOL_VERSION, 'a version') }),
});

export const manifestSchema = v.pipe(
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
    v.check((m) => {
      // The id is made when the run plans the set, `created` when it is taken: a snapshot is taken
      // once the service has stopped, seconds later. An hour bounds what a forged time could buy
      // (retention keeps a recent snapshot).
      const after = Date.parse(m.created) - idTime(m.id);
      return after >= 0 && after < CREATED_WITHIN_MS;
    }, 'a time from the second the id was made to an hour after'),
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
