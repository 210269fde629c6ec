import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { postgresUrlStep } from '../../src/backup/postgres-steps.js';
import { setPaths } from '../../src/backup/set-paths.js';
import { finalizeStep } from '../../src/backup/set-steps.js';
import { sqliteStep } from '../../src/backup/sqlite-step.js';
import { keepFileStep } from '../../src/backup/stored-sets.js';
import type { Step } from '../../src/backup/steps.js';
import { pullStep } from '../../src/deploy/commands.js';
import {
  pgDropNewStep,
  pgRestoreIntoNewStep,
  pgSwapStep,
  type PgTarget,
} from '../../src/restore/postgres.js';
import { verifySetStep } from '../../src/restore/checksums.js';
import { STDIN_CUT_EXIT } from '../../src/shell.js';

/**
 * A dropped connection ends a remote command's stdin early, and `cat` or `read` still succeed on what
 * arrived. Every step that takes data on stdin must prove it whole before it commits or hands it on:
 * each is run here under a real shell with its stdin cut short, with stand-ins for the tools it would
 * call that record whether they ran.
 */

const URL = {
  host: '127.0.0.1',
  port: 5432,
  user: 'eqmd',
  database: 'eqmd_c',
  password: 's3cret-pw',
  sslmode: '',
};
const BY_URL: PgTarget = { via: 'database-url', url: URL };

/** A PATH where docker, pg_dump, pg_restore and psql only record that they ran (and their stdin). */
function standIns(): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-standins-'));
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  for (const tool of ['docker', 'pg_dump', 'pg_restore', 'psql']) {
    const f = join(dir, tool);
    writeFileSync(f, `#!/bin/sh\necho "${tool} $* stdin=$(cat | tr '\\n' ' ')" >> ${log}\n`);
    chmodSync(f, 0o755);
  }
  return {
    path: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

function run(step: Step, stdin: string, path = process.env.PATH ?? '') {
  const r = spawnSync('sh', ['-c', step.command], { input: stdin, env: { ...process.env, PATH: path } });
  return { code: r.status, stderr: r.stderr.toString() };
}

/** Each way stdin can arrive cut short: nothing at all, half of it, all but the last byte. */
function cuts(data: string): string[] {
  return ['', data.slice(0, Math.floor(data.length / 2)), data.slice(0, -1)];
}

test('every step that takes data on stdin is one of those proven here', () => {
  // A tripwire: a new stdin step must join the table below (and prove its input) or this fails.
  const withStdin = [
    finalizeStep(setPaths('/b', '20261124T101530Z-abcdef'), '{}'),
    keepFileStep('/b/x/app-output.txt', 'text'),
    postgresUrlStep(setPaths('/b', '20261124T101530Z-abcdef'), URL),
    pullStep('registry.example:5000/eqmd:v2', {
      registry: 'registry.example:5000',
      username: 'u',
      password: 'pw',
    }),
    pgRestoreIntoNewStep(BY_URL, '/b/x/database.dump', []),
    pgSwapStep(BY_URL, '20261124T101530Z-abcdef'),
    pgDropNewStep(BY_URL),
  ];
  for (const s of withStdin) assert.notEqual(s.stdin, undefined, s.title);
  const src = join(import.meta.dirname, '../../src');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const stdinProps = files(src).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => /^\s*(return .*\{ )?stdin: /.test(l) || /\? \{ stdin: /.test(l))
      .map((l) => `${f.slice(src.length + 1)}: ${l.trim()}`),
  );
  // finalize, keep a file, postgres by URL, login, and the pgStdin shared by the three restore steps.
  assert.equal(stdinProps.length, 5, stdinProps.join('\n'));
  // Constant data needs no stdin at all: the SQLite script and the checksum list are in the command.
  const target = { containerId: 'c1', running: true, image: 'img' };
  const owner = { id: '20261124T101530Z-abcdef', projectDir: '/srv/p' };
  assert.equal(sqliteStep(setPaths('/b', owner.id), target, '/app/db.sqlite3', owner).stdin, undefined);
  assert.equal(
    verifySetStep('/b/x', [{ path: 'env', role: 'env-file', bytes: 1, sha256: 'a' }]).stdin,
    undefined,
  );
});

test('finalize: a manifest cut short is never committed; a whole one is', () => {
  const manifest = `${JSON.stringify({ schema: 'eqmd-rollback/manifest@1', id: 'x', pad: 'p'.repeat(300) })}\n`;
  for (const cut of cuts(manifest)) {
    const root = mkdtempSync(join(tmpdir(), 'eqmd-final-'));
    const p = setPaths(join(root, 'backups'), '20261124T101530Z-abcdef');
    mkdirSync(p.tmp, { recursive: true });
    writeFileSync(join(p.tmp, 'env'), 'A=1\n');
    const r = run(finalizeStep(p, manifest), cut);
    assert.equal(r.code, STDIN_CUT_EXIT, `${cut.length} of ${manifest.length} bytes: ${r.stderr}`);
    assert.match(r.stderr, /stdin ended after \d+ of \d+ bytes|does not match its SHA-256/);
    assert.equal(existsSync(p.final), false, 'the set must not be renamed into place');
    assert.equal(existsSync(join(p.tmp, 'manifest.json')), false, 'no manifest.json in the temp set');
    assert.equal(existsSync(join(p.tmp, 'env')), true, 'the temp set stays for the cleanup');
  }
  // Same length, other bytes: a flipped byte is caught by the SHA-256, not the length.
  const root = mkdtempSync(join(tmpdir(), 'eqmd-final-'));
  const p = setPaths(join(root, 'backups'), '20261124T101530Z-abcdef');
  mkdirSync(p.tmp, { recursive: true });
  const flipped = run(finalizeStep(p, manifest), manifest.replace('pad', 'pal'));
  assert.equal(flipped.code, STDIN_CUT_EXIT, flipped.stderr);
  assert.match(flipped.stderr, /does not match its SHA-256/);
  assert.equal(existsSync(p.final), false);

  const whole = run(finalizeStep(p, manifest), manifest);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(readFileSync(join(p.final, 'manifest.json'), 'utf8'), manifest);
  assert.deepEqual(readdirSync(p.final), ['manifest.json'], 'no .part file left in the set');
});

test('secrets on stdin: a password cut short never reaches docker login, pg_dump or psql', () => {
  const set = setPaths(mkdtempSync(join(tmpdir(), 'eqmd-pgurl-')), '20261124T101530Z-abcdef');
  mkdirSync(set.tmp);
  const steps: [string, Step, string][] = [
    [
      'registry login',
      pullStep('registry.example:5000/eqmd:v2', {
        registry: 'registry.example:5000',
        username: 'deployer',
        password: 'pw-123',
      }),
      'pw-123',
    ],
    ['pg_dump by URL', postgresUrlStep(set, URL), URL.password],
    ['restore into new', pgRestoreIntoNewStep(BY_URL, '/dev/null', []), URL.password],
    ['swap', pgSwapStep(BY_URL, '20261124T101530Z-abcdef'), URL.password],
    ['drop new', pgDropNewStep(BY_URL), URL.password],
  ];
  for (const [name, step, secret] of steps) {
    assert.equal(step.stdin, `${secret}\n`, `${name}: the secret is sent newline-terminated`);
    assert.equal(step.command.includes(secret), false, `${name}: the secret is not on the command line`);
    for (const cut of cuts(step.stdin!)) {
      const tools = standIns();
      const r = run(step, cut, tools.path);
      assert.equal(r.code, STDIN_CUT_EXIT, `${name}, ${cut.length} bytes: ${r.stderr}`);
      assert.match(r.stderr, /did not arrive whole on stdin/, name);
      assert.deepEqual(tools.calls(), [], `${name}: no tool may run with a partial secret`);
    }
    // With the whole secret the tool runs (and is handed the secret through stdin or the environment).
    const tools = standIns();
    run(step, step.stdin!, tools.path);
    assert.ok(tools.calls().length > 0, `${name}: the tool runs when the secret arrived whole`);
  }
  const login = standIns();
  run(steps[0]![1], 'pw-123\n', login.path);
  assert.deepEqual(login.calls(), [
    'docker login registry.example:5000 -u deployer --password-stdin stdin=pw-123',
    'docker pull -q registry.example:5000/eqmd:v2 stdin=',
    'docker image inspect -f {{.Id}} registry.example:5000/eqmd:v2 stdin=',
  ]);
});

test('the checksum list is in the command: every listed file is checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-verify-'));
  writeFileSync(join(dir, 'env'), 'A=1\n');
  writeFileSync(join(dir, 'compose.yml'), 'x\n');
  const sha = (s: string) => spawnSync('sha256sum', { input: s }).stdout.toString().slice(0, 64);
  const files = [
    { path: 'env', role: 'env-file' as const, bytes: 4, sha256: sha('A=1\n') },
    { path: 'compose.yml', role: 'compose-file' as const, bytes: 2, sha256: sha('x\n') },
  ];
  assert.equal(run(verifySetStep(dir, files), '').code, 0);
  writeFileSync(join(dir, 'compose.yml'), 'y\n');
  assert.notEqual(run(verifySetStep(dir, files), '').code, 0, 'the second file is checked too');
  assert.notEqual(run(verifySetStep(dir, []), '').code, 0, 'a manifest listing no files is refused');
});

test('a registry login leaves no credentials on the host: its docker config is temporary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-login-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // `docker login` writes its config where DOCKER_CONFIG says (else ~/.docker), as the real CLI does.
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh\nif [ "$1" = login ]; then d=\${DOCKER_CONFIG:-$HOME/.docker}; mkdir -p "$d"; cat > "$d/config.json"; echo "$d" > ${dir}/config-dir; fi\nexit 0\n`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const step = pullStep('r.example/eqmd:v2', { registry: 'r.example', username: 'u', password: 'tok-123' });
  const r = spawnSync('sh', ['-c', step.command], {
    input: step.stdin,
    env: { ...process.env, HOME: home, PATH: `${bin}:${process.env.PATH}` },
  });
  assert.equal(r.status, 0, r.stderr.toString());
  const used = readFileSync(join(dir, 'config-dir'), 'utf8').trim();
  assert.notEqual(used, join(home, '.docker'), 'the login does not use the user config');
  assert.equal(existsSync(used), false, 'the temporary config (with the token) is removed');
  assert.equal(existsSync(join(home, '.docker')), false);
});

test('a kept file (app output) cut short is never renamed into place; a whole one is, mode 0600', () => {
  const text = `# App output\n${'log line\n'.repeat(50)}`;
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-keep-'));
  const path = join(dir, 'app-output.txt');
  for (const cut of cuts(text)) {
    const r = run(keepFileStep(path, text), cut);
    assert.equal(r.code, STDIN_CUT_EXIT, r.stderr);
    assert.equal(existsSync(path), false);
  }
  const r = run(keepFileStep(path, text), text);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(path, 'utf8'), text);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});
