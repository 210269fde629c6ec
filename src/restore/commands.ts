import type { Step } from '../backup/steps.js';
import { helperLabelArgs } from '../backup/commands.js';
import type { ManifestFile } from '../manifest.js';
import type { PostgresUrl } from '../settings.js';
import { argv, bashScript, quote, readSecretLine } from '../shell.js';
import { SQLITE_VERIFY_PY } from './sqlite-verify.js';

/**
 * Checks the set's files against the manifest before anything is restored from it. The checksums
 * travel as positional parameters (sha256, path, sha256, path, …), not on stdin: a list cut short by
 * a dropped connection would check fewer files and still pass.
 */
export function verifySetStep(setDir: string, files: readonly ManifestFile[]): Step {
  return {
    title: `Check the backup set's checksums (${files.length} files)`,
    command: bashScript(
      [
        '[ $# -gt 0 ] || { echo "the manifest lists no files" >&2; exit 3; }',
        `cd ${quote(setDir)}`,
        `printf '%s  %s\\n' "$@" | sha256sum --quiet --strict -c -`,
      ],
      files.flatMap((f) => [f.sha256, f.path]),
    ),
  };
}

/**
 * Restores the SQLite file into its volume while the service is stopped, through a helper container
 * of an image already on the host that mounts the service's volumes at the same paths. The copy is
 * written to a temp name and verified (checksum, integrity, rows, schema); then the old file is
 * hard-linked aside, its -wal/-shm are moved aside (a stale WAL would be replayed over the restored
 * file), and the temp file is renamed into place.
 */
export function sqliteRestoreStep(x: {
  id: string;
  projectDir: string;
  appContainer: string;
  image: string;
  sqlitePath: string;
  backupFile: string;
  expected: { sha256: string; tables: Record<string, number>; schema: string };
}): Step {
  const helper = `eqmd-rollback-restore-${x.id}`;
  const dir = x.sqlitePath.replace(/\/[^/]*$/, '') || '/';
  const tmp = `${dir}/.eqmd-restore-${x.id}.sqlite3`;
  const aside = `${dir}/.eqmd-aside-${x.id}`;
  const swap =
    'set -e; db=$1; tmp=$2; aside=$3; ' +
    '[ ! -e "$db" ] || ln -f "$db" "$aside.sqlite3"; ' +
    'for s in -wal -shm -journal; do [ ! -e "$db$s" ] || mv -f "$db$s" "$aside$s"; done; ' +
    'mv -f "$tmp" "$db"; sync';
  return {
    title: `Restore the SQLite database ${x.sqlitePath} (verified copy, stale -wal/-shm moved aside)`,
    command: bashScript([
      // The trap first: a helper created by a `docker run` cut short is removed too.
      `trap ${quote(`docker rm -f ${helper} >/dev/null 2>&1 || true`)} EXIT`,
      `docker rm -f ${quote(helper)} >/dev/null 2>&1 || true`,
      `${argv('docker', 'run', '-d', '--name', helper, ...helperLabelArgs(x), '--network', 'none', '--volumes-from', x.appContainer, '--entrypoint', 'sh', x.image, '-c', 'sleep 86400')} >/dev/null`,
      // Temp copies of interrupted runs (we hold the host lock: nobody else is restoring here).
      argv('docker', 'exec', helper, 'sh', '-c', 'rm -f "$1"/.eqmd-restore-*.sqlite3', 'sh', dir),
      `${argv('docker', 'exec', '-i', helper, 'sh', '-c', 'cat > "$1"', 'sh', tmp)} < ${quote(x.backupFile)}`,
      `py=$(${argv('docker', 'exec', helper, 'sh', '-c', 'command -v python3 || command -v python')})`,
      `${argv('docker', 'exec', '-i', helper)} "$py" - ${argv(tmp, JSON.stringify(x.expected))} <<'PY'\n${SQLITE_VERIFY_PY}\nPY`,
      argv('docker', 'exec', helper, 'sh', '-c', swap, 'sh', x.sqlitePath, tmp, aside),
      `echo ${quote(`aside=${aside}.sqlite3`)}`,
    ]),
  };
}

export type PgTarget =
  { via: 'postgres-service'; containerId: string } | { via: 'database-url'; url: PostgresUrl };

/** Shell prelude defining `pg TOOL ARGS…` and `$db` for either way of reaching PostgreSQL. */
function pgPrelude(t: PgTarget): string[] {
  if (t.via === 'postgres-service') {
    const env =
      'PGPASSWORD="${POSTGRES_PASSWORD:-$(cat "${POSTGRES_PASSWORD_FILE:-/dev/null}")}"; ' +
      'PGUSER="${POSTGRES_USER:-postgres}"; PGHOST=127.0.0.1; export PGPASSWORD PGUSER PGHOST; exec "$@"';
    return [
      `pg() { ${argv('docker', 'exec', '-i', t.containerId, 'sh', '-c', env, 'sh')} "$@"; }`,
      `db=$(${argv('docker', 'exec', t.containerId, 'sh', '-c', 'echo "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"')})`,
    ];
  }
  return [
    readSecretLine('PGPASSWORD', 'the database password'),
    `export PGPASSWORD PGHOST=${quote(t.url.host)} PGPORT=${t.url.port} PGUSER=${quote(t.url.user)}`,
    ...(t.url.sslmode ? [`export PGSSLMODE=${quote(t.url.sslmode)}`] : []),
    'pg() { "$@"; }',
    `db=${quote(t.url.database)}`,
  ];
}

function pgStdin(t: PgTarget): Pick<Step, 'stdin' | 'stdinNote'> {
  return t.via === 'database-url' ? { stdin: `${t.url.password}\n`, stdinNote: 'the database password' } : {};
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Every listed table's row count, one `name|count` line each. The list arrives as the psql variable
 * `tables` (comma-separated) and each name is quoted by PostgreSQL itself (format's %I): no name read
 * from a manifest becomes SQL text. (query_to_xml runs the per-table count in a plain SELECT.)
 */
export const COUNT_ROWS_SQL =
  "SELECT t || '|' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', " +
  "split_part(t, '.', 1), split_part(t, '.', 2)), false, true, '')))[1]::text " +
  "FROM unnest(string_to_array(:'tables', ',')) AS t;";

/** The tables COUNT_ROWS_SQL can count: plain schema.table names (others are reported as missing). */
export function countableTables(tables: readonly string[]): string {
  return tables.filter((t) => TABLE.test(t)).join(',');
}

/** Restores the dump into a fresh database next to the live one and counts its rows. Live data untouched. */
export function pgRestoreIntoNewStep(t: PgTarget, dumpFile: string, tables: readonly string[]): Step {
  return {
    title: 'Restore the PostgreSQL dump into a fresh database (the live one is untouched)',
    // $1: the dump file, $2: the tables to count, comma-separated.
    command: bashScript(
      [
        ...pgPrelude(t),
        'new="${db}_eqmd_restore"',
        `pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -v new="$new" <<'SQL'\nDROP DATABASE IF EXISTS :"new";\nCREATE DATABASE :"new" TEMPLATE template0;\nSQL`,
        'pg pg_restore --exit-on-error --no-owner -d "$new" < "$1"',
        `pg psql -X -q -v ON_ERROR_STOP=1 -At -d "$new" -v tables="$2" <<'SQL' | sed 's/^/count=/'\n${COUNT_ROWS_SQL}\nSQL`,
      ],
      [dumpFile, countableTables(tables)],
    ),
    ...pgStdin(t),
  };
}

/** Swaps the restored database in, in one transaction; the replaced one is kept under an aside name. */
export function pgSwapStep(t: PgTarget, id: string): Step {
  const sql = [
    'BEGIN;',
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (:'db', :'new') AND pid <> pg_backend_pid();",
    'ALTER DATABASE :"db" RENAME TO :"aside";',
    'ALTER DATABASE :"new" RENAME TO :"db";',
    'COMMIT;',
  ].join('\n');
  return {
    title: 'Swap the restored PostgreSQL database in (one transaction; the old one is kept aside)',
    command: bashScript([
      ...pgPrelude(t),
      'new="${db}_eqmd_restore"',
      `aside="\${db}_eqmd_aside_${id.replace(/[^0-9a-z]/gi, '').toLowerCase()}"`,
      // A client reconnecting between terminate and rename makes the rename fail (and roll back): retry.
      'for _ in 1 2 3 4 5; do',
      `  if pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -v db="$db" -v new="$new" -v aside="$aside" >/dev/null <<'SQL'\n${sql}\nSQL`,
      '  then echo "aside=$aside"; exit 0; fi',
      '  sleep 1',
      'done',
      'echo "could not swap the restored database in" >&2; exit 1',
    ]),
    ...pgStdin(t),
  };
}

/**
 * Can this role restore here, the way pgRestoreIntoNewStep and pgSwapStep do it? Creating the fresh
 * database needs CREATEDB (or superuser); renaming the live one needs its ownership (or superuser).
 * Read-only: asked before a deploy switches, so that a rollback is never found impossible after it.
 */
export function pgCanRestoreStep(t: PgTarget): Step {
  // One line per answer (chr(10)): role=, can_create=, owns_db=.
  const sql =
    "SELECT 'role=' || current_user || chr(10) || " +
    "'can_create=' || CASE WHEN r.rolsuper OR r.rolcreatedb THEN 'yes' ELSE 'no' END || chr(10) || " +
    "'owns_db=' || CASE WHEN r.rolsuper OR d.datdba = r.oid THEN 'yes' ELSE 'no' END " +
    "FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = :'db'";
  return {
    title: 'Check that a rollback could restore the PostgreSQL database (privileges)',
    command: bashScript([
      ...pgPrelude(t),
      `pg psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -v db="$db" <<'SQL'\n${sql};\nSQL`,
    ]),
    ...pgStdin(t),
  };
}

/** Drops the half-made restore database after a failed restore. */
export function pgDropNewStep(t: PgTarget): Step {
  return {
    title: 'Drop the unfinished restore database',
    command: bashScript([
      ...pgPrelude(t),
      'new="${db}_eqmd_restore"',
      `pg psql -X -q -d postgres -v new="$new" <<'SQL'\nDROP DATABASE IF EXISTS :"new";\nSQL`,
    ]),
    ...pgStdin(t),
  };
}

/**
 * Restores a volume from its archive: emptied (its previous content is in the pre-restore snapshot),
 * then the archive is extracted by tar in a throwaway root container of an image already on the host,
 * keeping numeric owners and modes (the app user must still own its files); the entry count must
 * match the manifest.
 */
export function volumeRestoreStep(x: {
  id: string;
  projectDir: string;
  volume: string;
  archive: string;
  image: string;
  entries: number;
}): Step {
  const inVolume = (script: string, ...extra: string[]) =>
    argv(
      'docker',
      'run',
      '--rm',
      '-i',
      ...helperLabelArgs(x),
      '--user',
      '0',
      '--network',
      'none',
      '-v',
      `${x.volume}:/eqmd-volume`,
      '--entrypoint',
      'sh',
      x.image,
      '-c',
      script,
      ...extra,
    );
  return {
    title: `Restore volume ${x.volume} from its archive`,
    // The expected count and the names are positional parameters ($1 entries, $2 volume): values
    // read from a manifest never become script text.
    command: bashScript(
      [
        inVolume('rm -rf /eqmd-volume/* /eqmd-volume/.[!.]* /eqmd-volume/..?*'),
        `${inVolume('tar -x -p --numeric-owner -f - -C /')} < ${quote(x.archive)}`,
        `n=$(${inVolume('find /eqmd-volume | wc -l')})`,
        '[ "$n" -eq "$1" ] || { echo "volume $2 has $n entries after the restore, the archive listed $1" >&2; exit 1; }',
        'echo "entries=$n"',
      ],
      [String(x.entries), x.volume],
    ),
  };
}

/**
 * Gets a set's image back under its backup tag when the tag was deleted from the host: pulled by the
 * digest the manifest recorded (the registry's content address, so it is the same image), then checked
 * against the recorded image id before it is tagged.
 */
export function pullByDigestStep(digests: readonly string[], imageId: string, tag: string): Step {
  return {
    title: `Pull the set's image by digest and keep it as ${tag}`,
    // Manifest values as positional parameters: $1 the image id, $2 the tag, then the digests.
    command: bashScript(
      [
        'want=$1 tag=$2',
        'shift 2',
        'for ref in "$@"; do',
        '  if docker pull -q "$ref" >/dev/null 2>&1; then',
        `    id=$(docker image inspect -f '{{.Id}}' "$ref")`,
        '    if [ "$id" = "$want" ]; then docker tag "$ref" "$tag"; echo "pulled=$ref"; exit 0; fi',
        '    echo "$ref is image $id, not the recorded one" >&2',
        '  else echo "could not pull $ref" >&2; fi',
        'done',
        'exit 1',
      ],
      [imageId, tag, ...digests],
    ),
  };
}

/**
 * Checks several sets against their manifests in one round trip; prints `bad=<id>` for each that
 * fails (a missing, truncated or altered file). Retention runs it before it deletes anything, so a
 * corrupted set never counts as one of the sets that justify pruning an older, intact one.
 */
export function checkSetsStep(
  backupDir: string,
  sets: readonly { id: string; files: readonly ManifestFile[] }[],
): Step {
  return {
    title: `Check the checksums of ${sets.length} backup set(s) before pruning`,
    command: bashScript(
      sets.map(
        (s) =>
          `( cd ${quote(`${backupDir}/${s.id}`)} && printf '%s\\n' ${s.files.map((f) => quote(`${f.sha256}  ${f.path}`)).join(' ')} | sha256sum --quiet --strict -c - >/dev/null 2>&1 ) || echo ${quote(`bad=${s.id}`)}`,
      ),
    ),
  };
}
