import type { Step } from '../backup/steps.js';
import type { PostgresUrl } from '../settings.js';
import { argv, bashScript, quote, readSecretLine } from '../shell.js';

export type PgTarget =
  { via: 'postgres-service'; containerId: string } | { via: 'database-url'; url: PostgresUrl };

/** Shell prelude defining `pg TOOL ARGS…` and `$db` for either way of reaching PostgreSQL. */
export function pgPrelude(t: PgTarget): string[] {
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

export function pgStdin(t: PgTarget): Pick<Step, 'stdin' | 'stdinNote'> {
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
