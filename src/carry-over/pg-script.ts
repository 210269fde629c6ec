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
  IF (SELECT count(*) FROM eqmd_carry.stream WHERE kind = 'end') <> 1 THEN
    RAISE EXCEPTION 'the export stream is incomplete: nothing carried';
  END IF;
  -- One line per table of either database; cols = the shared columns NEW can write (not generated).
  CREATE UNLOGGED TABLE eqmd_carry.tables AS
  WITH new AS (
    SELECT n.nspname::text AS nsp, c.relname::text AS rel, c.oid,
      ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
            AND NOT a.attisdropped ORDER BY a.attnum) AS every,
      ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
            AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) AS writable,
      ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
            AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity = '' AND a.attnotnull
            AND NOT a.atthasdef ORDER BY a.attnum) AS required,
      (SELECT a.attname::text FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1) AS key
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'eqmd_carry')
      AND n.nspname !~ '^pg_(toast_)?temp_'
  ), old AS (
    SELECT s.nsp, s.rel, ARRAY(SELECT json_array_elements_text(s.doc -> 'columns')) AS every,
      s.doc ->> 'key' AS key, (s.doc ->> 'last')::bigint AS last,
      (SELECT count(*) FROM eqmd_carry.stream o WHERE (o.nsp, o.rel, o.kind) = (s.nsp, s.rel, 'row')) AS rows
    FROM eqmd_carry.stream s WHERE s.kind = 'columns'
  )
  SELECT nsp, rel, nsp || '.' || rel AS name,
    new.oid, new.key, old.last, old.rows, NULL::int AS ord, NULL::text AS why,
    new.oid IS NOT NULL AND old.every IS NOT NULL AND rel <> 'django_migrations' AS shared,
    new.key IS NOT NULL AND new.key = old.key AS keyed,
    ARRAY(SELECT c FROM unnest(new.writable) c WHERE c = ANY (old.every)) AS cols,
    ARRAY(SELECT c FROM unnest(old.every) c WHERE c <> ALL (new.writable)) AS old_only,
    ARRAY(SELECT c FROM unnest(new.every) c WHERE c <> ALL (new.writable) OR c <> ALL (old.every)) AS new_only,
    ARRAY(SELECT c FROM unnest(new.required) c WHERE c <> ALL (old.every)) AS required
  FROM new FULL JOIN old USING (nsp, rel);
  UPDATE eqmd_carry.tables SET why = 'the previous version has no such table (' || rows || ' rows not carried)'
  WHERE oid IS NULL AND rows > 0;
  UPDATE eqmd_carry.tables SET why = 'no single-column primary key in both versions: not compared'
  WHERE shared AND NOT keyed;
  -- readCarryOver's grammar: refused before anything is carried rather than after it is committed.
  IF EXISTS (SELECT FROM eqmd_carry.tables WHERE (shared OR why IS NOT NULL)
             AND name !~ '^(?!__)[A-Za-z0-9_.$-]{1,128}$')
     OR (SELECT count(*) FROM eqmd_carry.tables WHERE shared) > 2000 THEN
    RAISE EXCEPTION 'a table name or the number of tables cannot be reported: nothing carried';
  END IF;
  -- Foreign-key order: level n = every parent (other than itself) is of a lower level; a cycle goes last.
  pass := 0;
  LOOP
    pass := pass + 1;
    UPDATE eqmd_carry.tables c SET ord = pass WHERE c.shared AND c.keyed AND c.ord IS NULL AND NOT EXISTS (
      SELECT FROM pg_constraint f JOIN eqmd_carry.tables p ON p.oid = f.confrelid
      WHERE f.contype = 'f' AND f.conrelid = c.oid AND f.confrelid <> c.oid
        AND p.shared AND p.keyed AND p.ord IS NULL);
    EXIT WHEN NOT FOUND;
  END LOOP;
  UPDATE eqmd_carry.tables SET ord = pass WHERE shared AND keyed AND ord IS NULL;
  -- What differs, compared as JSON on the shared columns: act 1 insert, 2 update, 3 delete.
  CREATE UNLOGGED TABLE eqmd_carry.todo (id bigint GENERATED ALWAYS AS IDENTITY, name text, act int,
    k jsonb, doc json, state text, why text, lost text);
  FOR t IN SELECT * FROM eqmd_carry.tables WHERE ord IS NOT NULL LOOP
    -- One full join of both sides, each row made JSON once: only OLD = inserted, only NEW = deleted.
    EXECUTE format($q$INSERT INTO eqmd_carry.todo (name, act, k, doc)
      SELECT $1, CASE WHEN n.b IS NULL THEN 1 WHEN o.b IS NULL THEN 3 ELSE 2 END, coalesce(o.k, n.k),
        coalesce(o.doc, json_build_object($2, n.k))
      FROM (SELECT doc, b, b -> $2 AS k FROM (SELECT doc, doc::jsonb - $3 AS b FROM eqmd_carry.stream
                                              WHERE (nsp, rel, kind) = ($4, $5, 'row')) s) o
      FULL JOIN (SELECT b, b -> $2 AS k FROM (SELECT to_jsonb(x) - $6 AS b FROM %1$I.%2$I x) x) n ON n.k = o.k
      WHERE n.b IS DISTINCT FROM o.b$q$, t.nsp, t.rel)
    USING t.name, t.key, t.old_only, t.nsp, t.rel, t.new_only;
  END LOOP;
  CREATE INDEX ON eqmd_carry.todo (name, act);
  ANALYZE eqmd_carry.todo;
  UPDATE eqmd_carry.todo d SET state = 'required',
    why = 'inserted since; the previous version needs a value for ' || array_to_string(c.required, ', ')
  FROM eqmd_carry.tables c WHERE c.name = d.name AND d.act = 1 AND c.required <> '{}';
  -- A row inserted or updated since with values in columns only the release has is carried without
  -- them, and listed; the set's rows that hold such values and nothing else changed are counted.
  UPDATE eqmd_carry.todo d SET lost = (SELECT string_agg(e.key, ', ' ORDER BY e.key) FROM json_each(d.doc) e
                                       WHERE e.key = ANY (c.old_only) AND json_typeof(e.value) <> 'null')
  FROM eqmd_carry.tables c WHERE c.name = d.name AND d.act IN (1, 2) AND c.old_only <> '{}';
  UPDATE eqmd_carry.tables c SET why = kept.rows || ' rows of the set hold values in columns only the release has ('
      || array_to_string(c.old_only, ', ') || '): not carried (the values are in the snapshot)'
  FROM (SELECT tb.name, count(*) AS rows FROM eqmd_carry.tables tb
        JOIN eqmd_carry.stream st ON (st.nsp, st.rel, st.kind) = (tb.nsp, tb.rel, 'row')
        WHERE tb.ord IS NOT NULL AND tb.old_only <> '{}'
          AND EXISTS (SELECT FROM json_each(st.doc) e WHERE e.key = ANY (tb.old_only) AND json_typeof(e.value) <> 'null')
          AND NOT EXISTS (SELECT FROM eqmd_carry.todo d WHERE d.name = tb.name AND d.k = st.doc::jsonb -> tb.key)
        GROUP BY tb.name) kept
  WHERE c.name = kept.name;
  -- Row by row, each in a subtransaction; a row refused for a reference (23503) is tried again
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
