/**
 * Runs inside the app container (a Django image always has Python; it may lack the sqlite3 CLI).
 * Copies the live database with SQLite's online backup API — one step, so the copy is a consistent
 * snapshot even while the app writes (a `cp` of a WAL database can silently lose committed rows) —
 * switches the copy out of WAL so it is one self-contained file, then verifies the copy: integrity
 * check, row counts per table, a schema fingerprint and the SHA-256 of the bytes.
 * argv: source path, destination path. Prints one JSON object.
 */
export const SQLITE_COPY_PY = String.raw`
import hashlib, json, os, sqlite3, sys
src_path, dst_path = sys.argv[1], sys.argv[2]
if not os.path.isfile(src_path):
    sys.stderr.write("SQLite database not found in the container: %s\n" % src_path)
    sys.exit(3)
if os.path.exists(dst_path):
    os.unlink(dst_path)
src = sqlite3.connect(src_path, timeout=30)
dst = sqlite3.connect(dst_path)
src.backup(dst)
dst.execute("PRAGMA journal_mode=DELETE")
dst.close()
src.close()
with open(dst_path, "rb") as f:
    os.fsync(f.fileno())
check = sqlite3.connect("file:%s?mode=ro" % dst_path, uri=True)
integrity = [r[0] for r in check.execute("PRAGMA integrity_check")]
tables = [r[0] for r in check.execute(
    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
counts = {}
for t in tables:
    counts[t] = check.execute('SELECT count(*) FROM "%s"' % t.replace('"', '""')).fetchone()[0]
schema = check.execute(
    "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
check.close()
digest = hashlib.sha256()
with open(dst_path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
print(json.dumps({
    "integrity": "ok" if integrity == ["ok"] else "; ".join(integrity[:5]),
    "tables": counts,
    "schema": hashlib.sha256(json.dumps(schema).encode()).hexdigest(),
    "sha256": digest.hexdigest(),
    "bytes": os.path.getsize(dst_path),
}))
`;
