/**
 * Runs in a helper container on the restored temp file before it replaces the live database:
 * the bytes must be the backed-up ones, and SQLite must agree on integrity, rows and schema.
 * argv: path, expected JSON {sha256, tables, schema}. Exit 1 with a reason on any difference.
 */
export const SQLITE_VERIFY_PY = String.raw`
import hashlib, json, sqlite3, sys
path, expected = sys.argv[1], json.loads(sys.argv[2])
digest = hashlib.sha256()
with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
problems = []
if digest.hexdigest() != expected["sha256"]:
    problems.append("checksum %s != %s" % (digest.hexdigest()[:12], expected["sha256"][:12]))
db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
integrity = [r[0] for r in db.execute("PRAGMA integrity_check")]
if integrity != ["ok"]:
    problems.append("integrity_check: " + "; ".join(integrity[:3]))
for table, count in expected["tables"].items():
    got = db.execute('SELECT count(*) FROM "%s"' % table.replace('"', '""')).fetchone()[0]
    if got != count:
        problems.append("%s has %d rows, expected %d" % (table, got, count))
schema = db.execute(
    "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
if hashlib.sha256(json.dumps(schema).encode()).hexdigest() != expected["schema"]:
    problems.append("schema fingerprint differs")
db.close()
if problems:
    sys.stderr.write("restored copy rejected: " + "; ".join(problems) + "\n")
    sys.exit(1)
print("verified=ok")
`;
