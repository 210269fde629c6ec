import { PG_CARRY_OVER_COMPARE } from './pg-compare.js';
import { PG_CARRY_OVER_SESSION } from './pg-export.js';

/**
 * The carry-over proper: carries the writes made since the set into NEW (the database restored from
 * it, the previous release's schema), reading the stream of pg-export.ts at its `\copy … FROM pstdin`.
 * Run by `psql -X -q -v ON_ERROR_STOP=1 -At -d NEW` either with `-f` and the stream on stdin, or (the
 * rollback's step, pg-step.ts) with this text and the stream on one stdin, the stream between the
 * halves before and after the `\copy` line and ended by `\.`.
 *
 * Tables of both databases (NEW's from its catalog, OLD's from the stream) are compared on NEW's
 * single-column primary key, which must be OLD's too, and on the columns both share, as JSON (so no
 * value is converted before it is written). Rows only OLD has are inserted (shared columns; columns
 * only NEW has take their defaults), rows whose shared columns differ are updated (columns only NEW
 * has keep the restored values), rows only NEW has are deleted; parents before children for inserts
 * and updates, children first for deletes (foreign keys from NEW's catalog), with every constraint
 * checked at once (`SET CONSTRAINTS ALL IMMEDIATE`: Django's are DEFERRABLE INITIALLY DEFERRED) so
 * that each row, in its own subtransaction, fails alone. A row refused for a missing parent or a
 * referring child is tried again while a pass still carries something (self-references). Sequences of
 * the keys move past the carried ids and past the last id OLD handed out. `django_migrations` is
 * never carried: it is the schema's own record.
 *
 * What cannot be carried is listed with table, key and reason, never guessed: a NOT NULL column with no
 * default that OLD lacks, a constraint the row breaks (reason: our words and PostgreSQL's message,
 * never its DETAIL, which holds row values), a value the restored column type refuses (our words and
 * the SQLSTATE only: that message quotes the value), values in columns only OLD has (per row inserted
 * or updated since; counted for the set's rows nothing else changed), a table only OLD has with rows,
 * a table without the same single-column primary key in both. Anything else (including a stream cut short) aborts the
 * one transaction: NEW stays as restored and psql exits non-zero.
 *
 * The last output line is the report `readCarryOver` reads, printed only after COMMIT; tables are
 * named `schema.table` (`public.records_patient`), as the manifest names PostgreSQL tables (a name
 * the report could not carry aborts the carry-over); keys are JSON numbers for numeric keys, strings
 * otherwise. The staging schema `eqmd_carry` lives only inside the transaction; if it already exists,
 * nothing is done. Needs no extension and no superuser: the owner of NEW. Constant text: names are
 * spliced with %I, values only passed as parameters.
 */
export const PG_CARRY_OVER_SQL = `${PG_CARRY_OVER_SESSION}SET client_min_messages = warning;
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
CREATE SCHEMA eqmd_carry;
CREATE UNLOGGED TABLE eqmd_carry.stream (nsp text NOT NULL, rel text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('columns', 'row', 'end')), doc json NOT NULL);
\\copy eqmd_carry.stream FROM pstdin
CREATE INDEX ON eqmd_carry.stream (nsp, rel, kind);
ANALYZE eqmd_carry.stream;
CREATE FUNCTION pg_temp.eqmd_carry() RETURNS json LANGUAGE plpgsql AS $carry$
DECLARE
  t record;
  r record;
  ins text;
  upd text;
  del text;
  one text;
  many text;
  by_key text;
  a int;
  pass int;
  carried int;
  again int;
  top bigint;
  cur bigint;
BEGIN
${PG_CARRY_OVER_COMPARE}  -- Row by row, each in a subtransaction; a row refused for a reference (23503) is tried again
  -- while a pass carried something, so a row may wait for another of its own table.
  FOR t IN SELECT * FROM (SELECT *, 1 AS phase, ord AS step FROM eqmd_carry.tables
                          UNION ALL SELECT *, 2, -ord FROM eqmd_carry.tables) s
           WHERE ord IS NOT NULL ORDER BY phase, step, name LOOP
    -- The rows' JSON takes NEW's column types here, in the statement's own subtransaction; each
    -- statement ends in its source: one row ($1) or every row of this table and kind at once.
    ins := format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ', t.nsp, t.rel,
                  (SELECT string_agg(format('%I', c), ', ') FROM unnest(t.cols) c),
                  (SELECT string_agg(format('r.%I', c), ', ') FROM unnest(t.cols) c));
    upd := format('UPDATE %I.%I x SET %s FROM ', t.nsp, t.rel,
                  (SELECT string_agg(format('%I = r.%I', c, c), ', ') FROM unnest(t.cols) c WHERE c <> t.key));
    del := format('DELETE FROM %I.%I x USING ', t.nsp, t.rel);
    one := format('json_populate_record(NULL::%I.%I, $1) r', t.nsp, t.rel);
    many := format('eqmd_carry.todo d CROSS JOIN LATERAL json_populate_record(NULL::%I.%I, d.doc) r', t.nsp, t.rel);
    by_key := format(' WHERE x.%I = r.%I AND ', t.key, t.key);
    -- Every row of the table at once first, one statement per kind of change; only if a row is
    -- refused (the subtransaction undone) row by row below, so that just that row is listed.
    BEGIN
      FOREACH a IN ARRAY CASE WHEN t.phase = 1 THEN ARRAY[1, 2] ELSE ARRAY[3] END LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM eqmd_carry.todo d WHERE d.name = t.name AND d.act = a
                                  AND d.state IS NULL);
        EXECUTE (ARRAY[ins || many || ' WHERE ', upd || many || by_key, del || many || by_key])[a]
                || 'd.name = $1 AND d.act = $2 AND d.state IS NULL' USING t.name, a;
      END LOOP;
      UPDATE eqmd_carry.todo d SET state = 'carried'
      WHERE d.name = t.name AND (d.act = 3) = (t.phase = 2) AND d.state IS NULL;
    EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
      NULL;
    END;
    pass := 0;
    LOOP
      pass := pass + 1;
      carried := 0;
      FOR r IN SELECT d.id, d.act, d.doc FROM eqmd_carry.todo d WHERE d.name = t.name AND (d.act = 3) = (t.phase = 2)
               AND CASE WHEN pass = 1 THEN d.state IS NULL ELSE d.state = '23503' END ORDER BY d.act, d.k LOOP
        BEGIN
          EXECUTE (ARRAY[ins || one, upd || one || by_key || 'true', del || one || by_key || 'true'])[r.act] USING r.doc;
          carried := carried + 1;
          IF pass > 1 THEN UPDATE eqmd_carry.todo SET state = NULL, why = NULL WHERE id = r.id; END IF;
        EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
          -- Class 23 messages name the table and constraint only; class 22 ones quote the value.
          UPDATE eqmd_carry.todo SET state = SQLSTATE,
            why = (ARRAY['inserted', 'updated', 'deleted'])[r.act] || ' since; ' || CASE
              WHEN SQLSTATE LIKE '22%'
                THEN 'a value does not fit the previous version''s column type (SQLSTATE ' || SQLSTATE || ')'
              WHEN SQLSTATE = '23503' AND r.act = 3 THEN 'rows still refer to it: ' || SQLERRM
              WHEN SQLSTATE = '23503' THEN 'refers to a row that is not there: ' || SQLERRM
              ELSE 'the previous version refuses it: ' || SQLERRM END
          WHERE id = r.id;
        END;
      END LOOP;
      SELECT count(*) INTO again FROM eqmd_carry.todo d
      WHERE d.name = t.name AND (d.act = 3) = (t.phase = 2) AND d.state = '23503';
      EXIT WHEN carried = 0 OR again = 0;
    END LOOP;
  END LOOP;
  -- Sequences: past the greatest key now in NEW and the last id OLD handed out, never backwards.
  FOR t IN SELECT *, pg_get_serial_sequence(format('%I.%I', nsp, rel), key)::regclass AS seq
           FROM eqmd_carry.tables WHERE ord IS NOT NULL LOOP
    CONTINUE WHEN t.seq IS NULL;
    EXECUTE format('SELECT max(%I)::bigint FROM %I.%I', t.key, t.nsp, t.rel) INTO top;
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', t.seq)
    INTO cur;
    IF greatest(top, t.last) > cur THEN PERFORM setval(t.seq, greatest(top, t.last)); END IF;
  END LOOP;
  RETURN json_build_object(
    'tables', coalesce((SELECT json_object_agg(c.name, json_build_object('inserted', coalesce(n.i, 0),
        'updated', coalesce(n.u, 0), 'deleted', coalesce(n.d, 0), 'listed', coalesce(n.l, 0) + (c.why IS NOT NULL)::int)
        ORDER BY c.name)
      FROM eqmd_carry.tables c LEFT JOIN (
        SELECT name, count(*) FILTER (WHERE act = 1 AND why IS NULL) AS i,
          count(*) FILTER (WHERE act = 2 AND why IS NULL) AS u, count(*) FILTER (WHERE act = 3 AND why IS NULL) AS d,
          count(*) FILTER (WHERE why IS NOT NULL OR lost IS NOT NULL) AS l
        FROM eqmd_carry.todo GROUP BY name) n USING (name)
      WHERE c.shared), '{}'),
    'listed', coalesce((SELECT json_agg(json_build_object('table', name, 'key', key, 'reason', left(why, 1000))
                                 ORDER BY n)
      FROM (SELECT 0::bigint AS n, name, NULL::jsonb AS key, why FROM eqmd_carry.tables WHERE why IS NOT NULL
            UNION ALL
            SELECT id, name, CASE WHEN jsonb_typeof(k) IN ('number', 'string') THEN k ELSE to_jsonb(k #>> '{}') END,
              coalesce(why, (ARRAY['inserted', 'updated'])[act] || ' since, carried without ' || lost
                            || ': the previous version has no such column (the values are in the snapshot)')
            FROM eqmd_carry.todo WHERE why IS NOT NULL OR lost IS NOT NULL) l), '[]'));
END
$carry$;
SELECT pg_temp.eqmd_carry() AS report \\gset
DROP SCHEMA eqmd_carry CASCADE;
COMMIT;
\\echo :report
`;
