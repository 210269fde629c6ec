import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { helperStartLines, sweepHelpersStep } from '../../src/backup/helper-containers.js';
import { bashScript } from '../../src/shell.js';
import { postgresUrlStep } from '../../src/backup/postgres-steps.js';
import { backupTag, setPaths } from '../../src/backup/set-paths.js';
import { checksumStep, finalizeStep, prepareStep, tagImageStep } from '../../src/backup/set-steps.js';
import { sqliteStep } from '../../src/backup/sqlite-step.js';
import { pruneStep, readManifestsStep } from '../../src/backup/stored-sets.js';
import { volumeStep } from '../../src/backup/volume-step.js';
import { lockOwnedStep } from '../../src/lock/commands.js';
import { sqliteRestoreStep } from '../../src/restore/sqlite.js';
import { volumeRestoreStep } from '../../src/restore/volume.js';
import { postgresResult } from '../../src/backup/database-result.js';
import { parseChecksums } from '../../src/backup/record.js';
import type { Step } from '../../src/backup/steps.js';
import { composeArgv } from '../../src/compose.js';
import { parseManifestListing } from '../../src/manifest-read.js';
import { validManifest } from './manifest-fixture.js';
import { parseProbe } from '../../src/probe.js';

/** Runs a step's command with the local shell, as the remote login shell would. */
function run(step: Step, env: Record<string, string> = {}) {
  const r = spawnSync('sh', ['-c', step.command], {
    input: step.stdin ?? '',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test('exact command lines for the simple builders', () => {
  assert.equal(
    backupTag('eqmd-a', '20261124T101530Z-abcdef'),
    'eqmd-rollback/eqmd-a:20261124T101530Z-abcdef',
  );
  assert.match(
    tagImageStep('sha256:1', 'eqmd-rollback/p:1').command,
    /docker tag sha256:1 eqmd-rollback\/p:1/,
  );
  const t = {
    flavor: 'v2' as const,
    projectDir: '/srv/x',
    composeFile: 'docker-compose.yml',
    project: 'p',
    envFile: '.env',
  };
  assert.deepEqual(composeArgv(t, 'up', '-d', 'eqmd'), [
    'docker',
    'compose',
    '-f',
    'docker-compose.yml',
    '-p',
    'p',
    'up',
    '-d',
    'eqmd',
  ]);
  assert.deepEqual(composeArgv({ ...t, flavor: 'v1', project: '', envFile: 'prod.env' }, 'ps'), [
    'docker-compose',
    '-f',
    'docker-compose.yml',
    '--env-file',
    'prod.env',
    'ps',
  ]);
});

test('prepare, checksum and finalize build a set that appears only at the end', () => {
  const root = mkdtempSync(join(tmpdir(), 'set-'));
  writeFileSync(join(root, '.env'), 'EQMD_IMAGE=r/eqmd:v1\n');
  writeFileSync(join(root, 'docker-compose.yml'), 'services: {}\n');
  const p = setPaths(join(root, 'backups'), '20261124T101530Z-abcdef');
  assert.equal(run(prepareStep(p, join(root, '.env'), join(root, 'docker-compose.yml'), '/srv/a')).code, 0);
  assert.ok(existsSync(`${p.tmp}/env`) && !existsSync(p.final));
  assert.equal(readFileSync(`${p.tmp}/.eqmd-owner`, 'utf8'), '/srv/a\n', 'the temp set names its project');
  assert.equal(
    run(prepareStep(p, join(root, '.env'), join(root, 'docker-compose.yml'), '/srv/a')).code !== 0,
    true,
    'an existing temp set is never reused',
  );
  const sums = parseChecksums(run(checksumStep(p)).stdout);
  assert.deepEqual(
    sums.map((f) => [f.path, f.role, f.bytes]),
    [
      ['compose.yml', 'compose-file', 13],
      ['env', 'env-file', 21],
    ],
  );
  assert.equal(
    sums[1]!.sha256,
    spawnSync('sha256sum', [`${p.tmp}/env`])
      .stdout.toString()
      .split(' ')[0],
  );
  assert.equal(run(finalizeStep(p, '{"id":1}\n')).code, 0);
  assert.ok(!existsSync(p.tmp) && readFileSync(`${p.final}/manifest.json`, 'utf8') === '{"id":1}\n');
  assert.equal(existsSync(`${p.final}/.eqmd-owner`), false, 'a committed set has no owner file');
  assert.equal(
    spawnSync('stat', ['-c', '%a', p.final]).stdout.toString().trim(),
    '700',
    'sets are private to the deploy user',
  );
});

test("readManifests lists sets with owner and mode; only the user's own, closed sets are trusted", () => {
  const dir = mkdtempSync(join(tmpdir(), 'list-'));
  const m = validManifest({ created: '2026-11-24T10:15:30Z' });
  const put = (name: string, manifest: string, mode = 0o700) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'manifest.json'), manifest);
    chmodSync(join(dir, name), mode);
  };
  put(m.id, JSON.stringify(m));
  put('20261124T101530Z-000000', '{"not":"a manifest"}');
  put('20261124T101531Z-111111', JSON.stringify(m), 0o770);
  mkdirSync(join(dir, 'junk'));
  mkdirSync(join(dir, '.tmp-20261124T111111Z-000000'));
  symlinkSync(join(dir, m.id), join(dir, '20261124T101532Z-222222'));
  const sets = parseManifestListing(Buffer.from(run(readManifestsStep(dir)).stdout));
  assert.deepEqual(
    sets.map((s) => [s.dir, s.ok ? 'ok' : s.problem]),
    [
      ['20261124T101530Z-000000', 'manifest field schema: Invalid key: Expected "schema"'],
      [m.id, 'ok'],
      ['20261124T101531Z-111111', 'not used: its directory is writable by group or others (mode 770)'],
      ['20261124T101532Z-222222', 'not used: its directory is writable by group or others (mode 777)'],
      ['junk', 'no manifest.json (incomplete or foreign directory)'],
    ],
  );
  // Run as another uid than the owner (the tests run as root; the sets belong to it).
  const foreign = Buffer.from(run(readManifestsStep(dir)).stdout.replace(/^0\0/, '1001\0'));
  assert.match(
    (parseManifestListing(foreign).find((s) => s.dir === m.id) as { problem: string }).problem,
    /not used: its directory is not owned by the SSH user/,
  );
  assert.equal(run(readManifestsStep(join(dir, 'missing'))).stdout, '', 'no backup dir yet is an empty list');
  const empty = mkdtempSync(join(tmpdir(), 'empty-'));
  assert.deepEqual(parseManifestListing(Buffer.from(run(readManifestsStep(empty)).stdout)), []);
});

test('prune removes the set and only warns when the image tag cannot be removed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-'));
  mkdirSync(join(dir, '20261124T101530Z-abcdef'));
  const bin = fakeBin({ docker: 'echo "Error: conflict" >&2; exit 1' });
  const r = run(pruneStep(dir, [{ id: '20261124T101530Z-abcdef', tag: 'eqmd-rollback/p:x' }]), {
    PATH: `${bin}:${process.env.PATH}`,
  });
  assert.equal(r.code, 0);
  assert.ok(!existsSync(join(dir, '20261124T101530Z-abcdef')));
  assert.match(r.stdout, /warning=could not remove image tag eqmd-rollback\/p:x/);
});

function fakeBin(tools: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), 'bin-'));
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

const RESTORE_SQL = [
  '-- PostgreSQL database dump',
  'CREATE TABLE public.records_patient (id integer);',
  'COPY public.records_patient (id, name) FROM stdin;',
  '1\tAda',
  '2\tGrace',
  '\\.',
  'COPY public.empty_table (id) FROM stdin;',
  '\\.',
].join('\n');

test('database-url dump: password from stdin into PGPASSWORD, rows counted from a full read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-'));
  const p = setPaths(dir, 'x');
  mkdirSync(p.tmp);
  const bin = fakeBin({
    pg_dump: `[ "$PGPASSWORD" = "s3cret" ] || { echo "bad password: $PGPASSWORD" >&2; exit 9; }\necho DUMPDATA`,
    pg_restore: `case "$*" in *--schema-only*) echo 'CREATE TABLE public.records_patient (id integer);';; *) cat <<'X'\n${RESTORE_SQL}\nX\n;; esac`,
  });
  const url = {
    host: '127.0.0.1',
    port: 5432,
    user: 'eqmd',
    database: 'eqmd_c',
    password: 's3cret',
    sslmode: '',
  };
  const step = postgresUrlStep(p, url);
  assert.ok(!step.command.includes('s3cret'));
  const r = run(step, { PATH: `${bin}:${process.env.PATH}` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(`${p.tmp}/database.dump`, 'utf8'), 'DUMPDATA\n');
  const result = postgresResult({ kind: 'postgres', via: 'database-url', url }, r.stdout);
  assert.deepEqual(result.record.kind === 'postgres' && result.record.tables, {
    'public.records_patient': 2,
    'public.empty_table': 0,
  });
  assert.ok(result.checks.every((c) => c.ok));
});

test('pg_dump dying mid-dump, or a dump cut inside a COPY block, fails the step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgfail-'));
  const p = setPaths(dir, 'x');
  mkdirSync(p.tmp);
  const url = { host: 'h', port: 5432, user: 'u', database: 'd', password: 'p', sslmode: '' };
  const dies = fakeBin({ pg_dump: 'echo PARTIAL; kill -9 $$', pg_restore: 'echo ok' });
  assert.notEqual(run(postgresUrlStep(p, url), { PATH: `${dies}:${process.env.PATH}` }).code, 0);
  const truncated = fakeBin({
    pg_dump: 'echo DATA',
    pg_restore: `printf 'COPY public.t (id) FROM stdin;\\n1\\n'`,
  });
  assert.notEqual(
    run(postgresUrlStep(p, url), { PATH: `${truncated}:${process.env.PATH}` }).code,
    0,
    'an unterminated COPY block is a failed read',
  );
  const restoreFails = fakeBin({
    pg_dump: 'echo DATA',
    pg_restore: `echo 'COPY public.t (id) FROM stdin;'; echo 'pg_restore: error: could not read input file: end of file' >&2; exit 1`,
  });
  assert.notEqual(
    run(postgresUrlStep(p, url), { PATH: `${restoreFails}:${process.env.PATH}` }).code,
    0,
    'pipefail: pg_restore failing before awk',
  );
});

test('parseProbe reads the probe output', () => {
  const p = parseProbe(
    'hostname=web1\nflavor=v1\nproject_dir=1\ncompose_file=0\nenv_file=1\nimage_variable=r/eqmd:v=1\nenv_project=\nbackup_free_kb=123\ncontainers=abc def\n',
  );
  assert.deepEqual(p, {
    hostname: 'web1',
    flavor: 'v1',
    projectDirExists: true,
    composeFileExists: false,
    envFileExists: true,
    imageVariable: 'r/eqmd:v=1',
    envProjectName: '',
    containerIds: ['abc', 'def'],
    backupFreeKb: 123,
  });
});

test('every helper container carries the project-dir label, and its cleanup trap is set before it exists', () => {
  const owner = { id: '20260101T000000Z-abcdef', projectDir: '/srv/eqmd' };
  const p = setPaths('/srv/eqmd/backups', owner.id);
  const steps = [
    sqliteStep(p, { containerId: 'c1', running: false, image: 'sha256:1' }, '/app/db.sqlite3', owner),
    volumeStep(p, { name: 'eqmd_media', mountpoint: '/app/media' }, 'sha256:1', owner),
    sqliteRestoreStep({
      ...owner,
      appContainer: 'c1',
      image: 'img',
      sqlitePath: '/app/db.sqlite3',
      backupFile: '/b/database.sqlite3',
      expected: { sha256: 'x', tables: {}, schema: 'y' },
    }),
  ];
  for (const s of steps) {
    const create = Math.max(s.command.indexOf('docker run -d'), s.command.indexOf('docker create'));
    assert.ok(create > 0, s.title);
    assert.ok(
      s.command.indexOf('trap ') > 0 && s.command.indexOf('trap ') < create,
      `trap first: ${s.title}`,
    );
    assert.match(s.command, /--label eqmd-rollback\.project-dir=\/srv\/eqmd/, s.title);
  }
  const restore = volumeRestoreStep({ ...owner, volume: 'v', archive: '/a.tar', image: 'img', entries: 1 });
  assert.match(restore.command, /--label eqmd-rollback\.project-dir=\/srv\/eqmd/);
});

test('a snapshot of a stopped service leaves its helper for the restore, which uses it if it runs and starts one if not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'helper-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // A docker stand-in: records each call; `inspect` answers the helper's running state from $RUNNING.
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\necho "$*" >> ${dir}/calls\n[ "$1" != inspect ] || echo "$RUNNING"\n[ "$1" != exec ] || echo '{}'\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : '');
  const owner = { id: '20260101T000000Z-abcdef', projectDir: '/srv/eqmd' };
  const name = `eqmd-rollback-helper-${owner.id}`;
  const p = setPaths(join(dir, 'backups'), owner.id);
  mkdirSync(p.tmp, { recursive: true });
  for (const keep of [false, true]) {
    rmSync(join(dir, 'calls'), { force: true });
    const target = { containerId: 'c1', running: false, image: 'img' };
    const r = run(sqliteStep(p, target, '/app/db.sqlite3', owner, keep), env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(calls(), new RegExp(`^run -d --name ${name} `, 'm'), 'the copy runs in a helper');
    assert.equal(calls().includes(`rm -f ${name}`), !keep, `keep ${keep}:\n${calls()}`);
  }
  for (const [running, starts] of [
    ['true', false],
    ['false', true],
    ['', true],
  ] as const) {
    rmSync(join(dir, 'calls'), { force: true });
    const r = run(
      { title: 'reuse', command: bashScript(helperStartLines(owner, 'c1', 'img', name, { reuse: true })) },
      { ...env, RUNNING: running },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      new RegExp(`^run -d --name ${name} `, 'm').test(calls()),
      starts,
      `running "${running}":\n${calls()}`,
    );
    assert.ok(calls().includes(`rm -f ${name}`), 'its trap removes it at the end');
  }
});

test('the helper sweep removes only labelled helpers of its project; the post step acts only on its own lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // A docker stand-in: `ps` lists what the filter selects, `rm` records what was removed.
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\ncase "$1" in\n  ps) [ "$4" != "label=eqmd-rollback.project-dir=/srv/a" ] || printf 'c1\\nc2\\n' ;;\n  inspect) echo "/helper-$4" ;;\n  rm) echo "$3" >> ${dir}/removed ;;\nesac\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}` };
  // Temporary sets in a shared backup dir: ours (by its owner file), another project's, one without.
  const backups = join(dir, 'backups');
  const tmpSet = (id: string, owner?: string) => {
    mkdirSync(join(backups, `.tmp-${id}`), { recursive: true });
    if (owner) writeFileSync(join(backups, `.tmp-${id}`, '.eqmd-owner'), `${owner}\n`);
  };
  tmpSet('20261124T101530Z-aaaaaa', '/srv/a');
  tmpSet('20261124T101530Z-bbbbbb', '/srv/b');
  tmpSet('20261124T101530Z-cccccc');
  tmpSet('20261124T101530Z-dddddd', '/srv/a/x');
  const out = run(sweepHelpersStep('/srv/a', backups), env);
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /removed=helper-c1\nremoved=helper-c2\nremoved_set=\.tmp-20261124T101530Z-aaaaaa\n$/,
  );
  assert.equal(readFileSync(join(dir, 'removed'), 'utf8'), 'c1\nc2\n');
  assert.deepEqual(readdirSync(backups).sort(), [
    '.tmp-20261124T101530Z-bbbbbb',
    '.tmp-20261124T101530Z-cccccc',
    '.tmp-20261124T101530Z-dddddd',
  ]);
  assert.equal(
    run(sweepHelpersStep('/srv/b', join(dir, 'none')), env).stdout,
    '',
    "another project's helpers stay",
  );
  const lock = join(dir, 'lock');
  mkdirSync(lock);
  writeFileSync(join(lock, 'token'), 'theirs\n');
  assert.equal(
    run(lockOwnedStep(lock, 'ours')).stdout,
    'state=not-ours\n',
    'the post step leaves a lock another run took',
  );
  writeFileSync(join(lock, 'token'), 'ours\n');
  assert.equal(run(lockOwnedStep(lock, 'ours')).stdout, 'state=ours\n');
});
