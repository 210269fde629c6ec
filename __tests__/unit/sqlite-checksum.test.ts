import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sqliteResult } from '../../src/backup/database-result.js';
import { parseChecksums } from '../../src/backup/record.js';
import { setPaths } from '../../src/backup/set-paths.js';
import { checksumStep } from '../../src/backup/set-steps.js';
import { sqliteStep } from '../../src/backup/sqlite-step.js';
import type { Step } from '../../src/backup/steps.js';
import { verifySetStep } from '../../src/restore/checksums.js';

/**
 * A backup hashes the SQLite copy on the host once, in the checksum step; the container's hash of the
 * bytes that passed integrity_check is compared with that one, which the manifest records.
 */

const ID = '20261124T101530Z-abcdef';
const owner = { id: ID, projectDir: '/srv/eqmd' };
const target = { kind: 'sqlite' as const, containerId: 'c1', running: true, path: '/app/db.sqlite3' };
const sha = (s: string) => spawnSync('sha256sum', { input: s }).stdout.toString().slice(0, 64);

function run(step: Step, env: Record<string, string> = {}) {
  const r = spawnSync('sh', ['-c', step.command], { input: '', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test('the SQLite step copies the database out and syncs it, and hashes nothing on the host', () => {
  const p = setPaths('/srv/eqmd/backups', ID);
  const step = sqliteStep(p, { containerId: 'c1', running: true, image: 'img' }, target.path, owner);
  // One exec: Python's report on the stream's first line, the copy's bytes after it, into the set.
  assert.ok(
    step.command.includes(
      ` sh /app/db.sqlite3 /tmp/eqmd-rollback-${ID}.sqlite3 <<'\\''PY'\\'' | ` +
        `{ IFS= read -r report && echo "report=$report" && cat > /srv/eqmd/backups/.tmp-${ID}/database.sqlite3; }\n`,
    ),
    step.command.slice(-3000),
  );
  assert.ok(
    step.command.endsWith(`\nPY\ntrap - EXIT\nsync /srv/eqmd/backups/.tmp-${ID}/database.sqlite3'`),
    step.command.slice(-300),
  );
  assert.equal(step.command.match(/docker exec/g)?.length, 2, 'the copy’s exec, and the trap’s cleanup');
  assert.doesNotMatch(step.command, /sha256sum/);
});

/**
 * Runs the SQLite step with a docker stand-in whose container copy holds `DATA` (its report carries
 * that hash) and whose `cat` hands the host `copied`, then the checksum step over the set.
 */
function backUp(copied: string) {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-sqlite-sum-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const report = JSON.stringify({ integrity: 'ok', tables: { t: 1 }, schema: 's', sha256: sha('DATA\n') });
  writeFileSync(
    join(bin, 'docker'),
    [
      '#!/bin/sh',
      'case "$*" in',
      `  "exec -i c1"*) cat >/dev/null; echo '${report}'; printf '%s\\n' '${copied}' ;;`,
      'esac',
    ].join('\n'),
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const p = setPaths(join(dir, 'backups'), ID);
  mkdirSync(p.tmp, { recursive: true });
  const copy = run(sqliteStep(p, { ...target, image: 'img' }, target.path, owner), {
    PATH: `${bin}:${process.env.PATH}`,
  });
  assert.equal(copy.code, 0, copy.stderr);
  const sums = run(checksumStep(p));
  assert.equal(sums.code, 0, sums.stderr);
  const files = parseChecksums(sums.stdout);
  const identical = sqliteResult(target, copy.stdout, files).checks.find(
    (c) => c.check === 'SQLite copy identical on the host',
  )!;
  return { p, files, identical };
}

test('the copy is proven against the checksum the manifest records, and the set check still catches a changed file', () => {
  const good = backUp('DATA');
  assert.equal(good.identical.ok, true, good.identical.detail);
  assert.deepEqual(
    good.files.map((f) => [f.path, f.sha256]),
    [['database.sqlite3', sha('DATA\n')]],
  );
  assert.equal(run(verifySetStep(good.p.tmp, good.files)).code, 0);
  writeFileSync(join(good.p.tmp, 'database.sqlite3'), 'DATX\n');
  assert.notEqual(run(verifySetStep(good.p.tmp, good.files)).code, 0, 'a changed file fails the set check');

  const bad = backUp('DATX');
  assert.equal(bad.identical.ok, false, 'bytes other than the container copied fail the backup');
  assert.equal(
    bad.identical.detail,
    `container ${sha('DATA\n').slice(0, 12)} / host ${sha('DATX\n').slice(0, 12)}`,
  );
});
