/**
 * Carries the writes made since a set into the database just restored from it (SQLite), run by the
 * previous release's image in a helper container: argv = the restored copy (not swapped in yet), a copy of the
 * replaced database (the pre-restore snapshot's), and that copy's expected SHA-256. Compared on the
 * single-column primary key and the columns both schemas share: rows inserted since are inserted,
 * updated ones get their shared columns (columns only the restored schema has keep the values the
 * restore brought back), deleted ones are deleted, in foreign-key order, in one transaction with
 * foreign keys enforced; AUTOINCREMENT moves past the carried ids by itself. What cannot be carried
 * (a row inserted or updated since with values in columns the old schema lacks: carried without them,
 * and a count of the set's rows holding such values; a NOT NULL
 * column with no value, a unique clash, a carried row whose parent is not there, a table the old
 * version lacks: not carried) is listed
 * with its table, key and reason, never guessed. A reference broken by anything else aborts everything:
 * the restored database stays as restored. Prints the report as one JSON line (keys and reasons, no values). Constant text.
 */
export const CARRY_OVER_PY = `import hashlib
import json
import sqlite3
import sys

live, replaced, expected = sys.argv[1], sys.argv[2], sys.argv[3]
with open(replaced, 'rb') as f:
    if hashlib.sha256(f.read()).hexdigest() != expected:
        raise SystemExit('the copy of the replaced database does not match its checksum')
db = sqlite3.connect('file:' + live, uri=True, isolation_level=None)
# The copy is not live yet: it is swapped in (and synced) only after this script succeeds. Its journal
# stays on disk, so a killed carry-over still rolls back on the next open; only the fsyncs are skipped.
db.execute('PRAGMA synchronous = OFF')
db.execute('ATTACH DATABASE ? AS old', ('file:' + replaced + '?mode=ro&immutable=1',))
db.execute('PRAGMA foreign_keys = ON')
report = {'tables': {}, 'listed': []}


def q(name):
    return '"' + name.replace('"', '""') + '"'


def tables(schema):
    return [r[0] for r in db.execute(
        'SELECT name FROM ' + schema + ".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def columns(schema, table):
    return db.execute('PRAGMA ' + schema + '.table_info(' + q(table) + ')').fetchall()


def rows(schema, table):
    return db.execute('SELECT count(*) FROM ' + schema + '.' + q(table)).fetchone()[0]


def carry(t, kind, only, sql, rows):
    # rows: (key, parameters, its values in the columns only the release has, named by only). kind:
    # 'inserted' or 'updated', the report's count and the reasons' word. One statement for them all;
    # when the old schema refuses one, row by row, so that each refusal is listed and the others are
    # carried. Returns the keys carried.
    def done(k, extra):
        report['tables'][t][kind] += 1
        lost = [c for c, value in zip(only, extra) if value is not None]
        if lost:
            listed(t, k, kind + ' since, carried without ' + ', '.join(lost)
                   + ': the previous version has no such column (the values are in the snapshot)')
        return k

    db.execute('SAVEPOINT bulk')
    try:
        db.executemany(sql, [p for _, p, _ in rows])
        db.execute('RELEASE bulk')
        return [done(k, extra) for k, _, extra in rows]
    except sqlite3.IntegrityError:
        db.execute('ROLLBACK TO bulk')
        db.execute('RELEASE bulk')
    carried = []
    for k, p, extra in rows:
        try:
            db.execute(sql, p)
            carried.append(done(k, extra))
        except sqlite3.IntegrityError as e:
            listed(t, k, kind + ' since; the previous schema refuses it: ' + str(e))
    return carried


def listed(table, key, reason):
    report['listed'].append({'table': table, 'key': key, 'reason': reason})
    if table in report['tables']:
        report['tables'][table]['listed'] += 1


new, old = tables('main'), set(tables('old'))
for t in sorted(old - set(new)):
    if rows('old', t):
        listed(t, None, 'the previous version has no such table (%d rows not carried)' % rows('old', t))
# The schema's own record is the restored one: carrying it would undo the rollback.
shared = [t for t in new if t in old and t != 'django_migrations']
order = []


def visit(t, path=()):
    if t in order or t in path or t not in shared:
        return
    for r in sorted({r[2] for r in db.execute('PRAGMA main.foreign_key_list(' + q(t) + ')')}):
        visit(r, path + (t,))
    order.append(t)


for t in shared:
    visit(t)

db.execute('BEGIN IMMEDIATE')
db.execute('PRAGMA defer_foreign_keys = ON')
keys = {}
inserted = {}
for t in order:
    mine, theirs = columns('main', t), {c[1] for c in columns('old', t)}
    report['tables'][t] = {'inserted': 0, 'updated': 0, 'deleted': 0, 'listed': 0}
    pk = [c[1] for c in mine if c[5] > 0]
    if len(pk) != 1 or pk[0] not in theirs:
        listed(t, None, 'no single-column primary key in both versions: not compared')
        continue
    key = keys[t] = pk[0]
    both = [c[1] for c in mine if c[1] in theirs]
    values = [c for c in both if c != key]
    missing = [c[1] for c in mine if c[1] not in theirs and c[3] and c[4] is None and not c[5]]
    # Columns only the release has: an inserted row is carried without their values, and listed.
    only = [c for c in sorted(theirs) if c not in {m[1] for m in mine}]
    cols = ', '.join(q(c) for c in both)
    differ = ' OR '.join('o.' + q(c) + ' IS NOT m.' + q(c) for c in values) or '0'
    # Rows of the set that nothing changed but a column only the release has: their values cannot be
    # carried and are not changes of the shared columns either; counted, never dropped unsaid.
    if only:
        kept = db.execute('SELECT count(*) FROM old.' + q(t) + ' o JOIN main.' + q(t) + ' m ON o.' + q(key)
                          + ' = m.' + q(key) + ' WHERE NOT (' + differ + ') AND ('
                          + ' OR '.join('o.' + q(c) + ' IS NOT NULL' for c in only) + ')').fetchone()[0]
        if kept:
            listed(t, None, '%d rows of the set hold values in columns only the release has (%s): not carried '
                   '(the values are in the snapshot)' % (kept, ', '.join(only)))
    new_rows = db.execute('SELECT ' + ', '.join(q(c) for c in both + only) + ' FROM old.' + q(t) + ' WHERE '
                          + q(key) + ' NOT IN (SELECT ' + q(key) + ' FROM main.' + q(t) + ') ORDER BY '
                          + q(key)).fetchall()
    if missing:
        for whole in new_rows:
            listed(t, whole[both.index(key)], 'inserted since; the previous version needs a value for '
                   + ', '.join(missing))
    else:
        inserted.setdefault(t, set()).update(carry(
            t, 'inserted', only,
            'INSERT INTO main.' + q(t) + ' (' + cols + ') VALUES (' + ', '.join('?' * len(both)) + ')',
            [(whole[both.index(key)], whole[:len(both)], whole[len(both):]) for whole in new_rows]))
    if values:
        changed = db.execute('SELECT o.' + q(key) + ', ' + ', '.join('o.' + q(c) for c in values + only)
                             + ' FROM old.' + q(t) + ' o JOIN main.' + q(t) + ' m ON o.' + q(key) + ' = m.'
                             + q(key) + ' WHERE ' + differ).fetchall()
        carry(t, 'updated', only,
              'UPDATE main.' + q(t) + ' SET ' + ', '.join(q(c) + ' = ?' for c in values) + ' WHERE ' + q(key) + ' = ?',
              [(whole[0], whole[1:1 + len(values)] + whole[:1], whole[1 + len(values):]) for whole in changed])
for t in reversed(order):
    if t in keys:
        report['tables'][t]['deleted'] = db.execute(
            'DELETE FROM main.' + q(t) + ' WHERE ' + q(keys[t]) + ' NOT IN (SELECT ' + q(keys[t]) + ' FROM old.'
            + q(t) + ')').rowcount
# A carried row that points at a row which is not there (not carried itself, or deleted) is taken out
# again and listed; a broken reference the carry-over did not insert aborts everything.
while True:
    broken = db.execute('PRAGMA main.foreign_key_check').fetchall()
    if not broken:
        break
    table, rowid, parent = broken[0][0], broken[0][1], broken[0][2]
    k = db.execute('SELECT ' + q(keys[table]) + ' FROM main.' + q(table) + ' WHERE rowid = ?', (rowid,)).fetchone()[0] \
        if table in keys else None
    if k is None or k not in inserted.get(table, set()):
        raise SystemExit('carrying over would break %d foreign key reference(s), first in table %s: nothing carried'
                         % (len(broken), table))
    db.execute('DELETE FROM main.' + q(table) + ' WHERE rowid = ?', (rowid,))
    inserted[table].discard(k)
    # Not carried after all: its "carried without" line goes, the reason below replaces it.
    before = len(report['listed'])
    report['listed'] = [x for x in report['listed'] if not (x['table'] == table and x['key'] == k)]
    report['tables'][table]['listed'] -= before - len(report['listed'])
    report['tables'][table]['inserted'] -= 1
    listed(table, k, 'inserted since; refers to a row of ' + parent + ' that is not there')
db.execute('COMMIT')
# Closing the last connection merges the WAL into the file: the swap moves the file alone.
db.close()
print(json.dumps(report, separators=(',', ':'), sort_keys=True))
`;
