/**
 * The first half of the carry-over's function (pg-script.ts): what differs between OLD (the stream)
 * and NEW (the restored database), before anything is written. One line per table of either database
 * with the shared columns NEW can write, the columns only one side has and the NOT NULL columns with no
 * default that OLD lacks; the tables in foreign-key order; then one `todo` row per key whose shared
 * columns differ (act 1 insert, 2 update, 3 delete), with what cannot be carried already marked:
 * a required column OLD lacks, values in columns only the release has (per row, and counted for the
 * set's rows nothing else changed). A stream cut short, or a name the report could not carry, raises.
 * Constant PL/pgSQL text; names are spliced with %I, values passed as parameters.
 */
export const PG_CARRY_OVER_COMPARE = `  IF (SELECT count(*) FROM eqmd_carry.stream WHERE kind = 'end') <> 1 THEN
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
`;
