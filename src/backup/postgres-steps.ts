import { argv, bashScript, quote, readSecretLine } from '../shell.js';
import type { PostgresUrl } from '../settings.js';
import type { SetPaths } from './set-paths.js';
import type { Step } from './steps.js';

/** Counts the rows of each COPY block in pg_restore's SQL output; fails if a block is cut short. */
const COUNT_COPY_ROWS = `awk '/^COPY [^ ]+ .*FROM stdin;$/ {t=$2; n=0; b=1; next} b && /^\\\\\\.$/ {print "table=" t "=" n; b=0; next} b {n++} END {if (b) exit 3}'`;
/** Comments and blank lines carry versions and timestamps, not schema. */
const SCHEMA_FINGERPRINT = `grep -v -e '^--' -e '^$' | sha256sum | cut -d' ' -f1`;

/**
 * pg_dump -Fc through the compose service's own container (credentials from its POSTGRES_* env), then a
 * full read of the dump with pg_restore: row counts per table and a schema fingerprint.
 */
export function postgresServiceStep(p: SetPaths, containerId: string): Step {
  const dest = `${p.tmp}/database.dump`;
  // Evaluated inside the postgres container; the password never appears on a command line.
  const creds =
    'PGPASSWORD="${POSTGRES_PASSWORD:-$(cat "${POSTGRES_PASSWORD_FILE:-/dev/null}")}"; export PGPASSWORD; ' +
    'u="${POSTGRES_USER:-postgres}"; db="${POSTGRES_DB:-$u}"; ';
  const inPg = (tool: string): string =>
    argv('docker', 'exec', '-i', containerId, 'sh', '-c', `${creds}${tool}`);
  return {
    title: 'Dump PostgreSQL (pg_dump -Fc) through its compose service and read the dump back in full',
    command: bashScript([
      `${inPg('exec pg_dump -Fc -h 127.0.0.1 -U "$u" "$db"')} > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `${argv('docker', 'exec', '-i', containerId, 'pg_restore', '-f', '-')} < ${quote(dest)} | ${COUNT_COPY_ROWS}`,
      `echo "schema=$(${argv('docker', 'exec', '-i', containerId, 'pg_restore', '--schema-only', '-f', '-')} < ${quote(dest)} | ${SCHEMA_FINGERPRINT})"`,
    ]),
  };
}

/** pg_dump -Fc from the host with database-url; the password arrives on stdin into PGPASSWORD. */
export function postgresUrlStep(p: SetPaths, url: PostgresUrl): Step {
  const dest = `${p.tmp}/database.dump`;
  const conn = ['-h', url.host, '-p', String(url.port), '-U', url.user];
  return {
    title: `Dump PostgreSQL ${url.user}@${url.host}:${url.port}/${url.database} from the host and read the dump back in full`,
    command: bashScript([
      `for t in pg_dump pg_restore; do command -v $t >/dev/null || { echo "$t is not installed on the host (needed for database-url)" >&2; exit 3; }; done`,
      readSecretLine('PGPASSWORD', 'the database password'),
      'export PGPASSWORD',
      ...(url.sslmode ? [`export PGSSLMODE=${quote(url.sslmode)}`] : []),
      `${argv('pg_dump', '-Fc', ...conn, '-d', url.database)} > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `pg_restore -f - ${quote(dest)} | ${COUNT_COPY_ROWS}`,
      `echo "schema=$(pg_restore --schema-only -f - ${quote(dest)} | ${SCHEMA_FINGERPRINT})"`,
    ]),
    stdin: `${url.password}\n`,
    stdinNote: 'the database password',
  };
}
