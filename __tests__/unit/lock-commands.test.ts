import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Step } from '../../src/backup/steps.js';
import { acquireStep, keeperCommand, releaseStep } from '../../src/lock/commands.js';

/** The lock's scripts under a real shell: it appears whole or not at all, and goes in one rename. */

const run = (step: Step) => spawnSync('sh', ['-c', step.command], { encoding: 'utf8' });

test('acquire makes the whole lock at once; a second acquire sees it held; release leaves nothing', () => {
  const project = mkdtempSync(join(tmpdir(), 'eqmd-lock-'));
  const d = join(project, '.eqmd-rollback.lock');
  assert.match(run(acquireStep(d, 'tok-1', '{"command":"backup"}')).stdout, /^state=acquired$/m);
  assert.deepEqual(readdirSync(d).sort(), ['owner.json', 'token']);
  assert.equal(readFileSync(join(d, 'token'), 'utf8'), 'tok-1\n');
  const second = run(acquireStep(d, 'tok-2', '{"command":"deploy"}'));
  assert.match(second.stdout, /^state=held$/m);
  assert.match(second.stdout, /^owner=\{"command":"backup"\}$/m);
  assert.equal(readFileSync(join(d, 'token'), 'utf8'), 'tok-1\n', 'the holder keeps it');
  assert.deepEqual(
    readdirSync(project),
    ['.eqmd-rollback.lock'],
    'no temporary lock left by the refused one',
  );
  assert.match(run(releaseStep(d, 'tok-2')).stdout, /state=not-ours/);
  assert.ok(existsSync(d));
  assert.match(run(releaseStep(d, 'tok-1')).stdout, /state=released/);
  assert.deepEqual(readdirSync(project), [], 'released in one rename, nothing left');
});

test('an empty or tokenless lock directory is never taken over; garbage of cut releases is swept', () => {
  const project = mkdtempSync(join(tmpdir(), 'eqmd-lock-'));
  const d = join(project, '.eqmd-rollback.lock');
  mkdirSync(d);
  assert.match(run(acquireStep(d, 'tok', '{}')).stdout, /state=held[\s\S]*keeper=none/);
  writeFileSync(join(d, 'pid'), '999999\n');
  assert.match(run(acquireStep(d, 'tok', '{}')).stdout, /state=held[\s\S]*keeper=gone/);
  spawnSync('rm', ['-rf', d]);
  mkdirSync(`${d}.released.123`);
  assert.match(run(acquireStep(d, 'tok', '{}')).stdout, /state=acquired/);
  assert.deepEqual(readdirSync(project), ['.eqmd-rollback.lock']);
});

test('a keeper that starts after the release writes nothing: the lock stays gone', async () => {
  const project = mkdtempSync(join(tmpdir(), 'eqmd-lock-'));
  const d = join(project, '.eqmd-rollback.lock');
  run(acquireStep(d, 'tok', '{}'));
  run(releaseStep(d, 'tok'));
  const keeper = spawn('sh', ['-c', keeperCommand(d, 'tok')], { stdio: ['pipe', 'ignore', 'ignore'] });
  const code = await new Promise<number | null>((resolve) => keeper.on('exit', resolve));
  assert.equal(code, 0, 'the keeper sees the lock is not its own and ends');
  assert.deepEqual(readdirSync(project), [], 'no pid file recreated a lock nobody can release');
});
