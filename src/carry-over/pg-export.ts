/**
 * The session both halves of the carry-over start with: psql's error handling, and every setting that
 * decides a value's text form (the comparison is on that form) set the same on both sides, with no
 * timeout configured for the app cutting the one long statement short. One constant for both halves:
 * a setting changed on one side only would make equal rows compare unequal.
 */
export const PG_CARRY_OVER_SESSION = `\\set ON_ERROR_STOP 1
\\set QUIET 1
-- The same text form of every value in both sessions (the comparison is on that form), and no
-- timeout configured for the app cutting the one long statement short.
SET client_encoding = 'UTF8';
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET bytea_output = 'hex';
SET statement_timeout = 0;
`;

/**
 * First half of the PostgreSQL carry-over: run with `psql -X -q -v ON_ERROR_STOP=1 -d OLD` (OLD = the
 * replaced database, the failed release's schema with every write made since the set) with this text
 * on stdin; its stdout is the stream the second half reads. Read-only: one REPEATABLE READ READ ONLY
 * transaction, so every table comes from the same snapshot and nothing is created in OLD.
 *
 * The stream is COPY text format (so any value round-trips byte for byte) with four columns
 * `schema, table, kind, doc`, one line each:
 * - `columns`: a table of OLD (every schema but pg_catalog, information_schema, pg_toast*, pg_temp*
 *   and the staging schema `eqmd_carry`); doc = `{"columns": [names in order], "key": the
 *   single-column primary key or null, "last": the last value of that key's sequence or null}`;
 * - `row`: one row of that table, doc = `row_to_json` of the whole row (types are restored on the
 *   other side from the restored schema's catalog);
 * - `end`: the last line, written only when every table went out: a stream without it is cut short.
 * Session settings fix every text form that could differ between the two sessions (encoding, time
 * zone, float digits, bytea, interval). Constant text: names are spliced with %I/%L, never a value.
 */
export const PG_CARRY_OVER_EXPORT_SQL = `${PG_CARRY_OVER_SESSION}BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT format('COPY (SELECT %L, %L, ''columns'', %L) TO STDOUT', nsp, rel, json_build_object(
         'columns', (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
         'key', key,
         -- How far the failed release's ids went: none of them is handed out again after the swap.
         'last', (SELECT s.last_value FROM pg_sequences s
                  WHERE format('%I.%I', s.schemaname, s.sequencename)
                        = pg_get_serial_sequence(format('%I.%I', nsp, rel), key)))),
       format('COPY (SELECT %L, %L, ''row'', row_to_json(x) FROM %I.%I x) TO STDOUT', nsp, rel, nsp, rel)
FROM (SELECT c.oid, n.nspname AS nsp, c.relname AS rel,
             (SELECT a.attname FROM pg_index i
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1) AS key
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'eqmd_carry')
        AND n.nspname !~ '^pg_(toast_)?temp_') t
ORDER BY nsp, rel
\\gexec
COPY (SELECT '', '', 'end', '{}') TO STDOUT;
COMMIT;
`;
