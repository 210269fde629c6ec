import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { argv, bashScript, quote, UNDER_TERMINAL_EXIT } from '../../src/shell.js';

test('quote leaves safe words alone and single-quotes the rest', () => {
  const table: [string, string][] = [
    ['v1.2.0', 'v1.2.0'],
    ['/srv/eqmd', '/srv/eqmd'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['$(id)', "'$(id)'"],
    ['a;reboot', "'a;reboot'"],
  ];
  for (const [input, expected] of table) assert.equal(quote(input), expected, input);
});

test('quoted words survive a real POSIX shell byte for byte', () => {
  const nasty = ["it's", '$(touch /tmp/x)', '`id`', 'a\nb', '"; rm -rf / #', '\\', '*', '-v1', ' lead'];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${argv(...nasty)}`]).toString();
  assert.deepEqual(out.split('\0').slice(0, -1), nasty);
});

test('bashScript runs with strict mode and pipefail', () => {
  const run = (lines: string[]): number => {
    try {
      execFileSync('sh', ['-c', bashScript(lines)], { stdio: 'pipe' });
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };
  assert.equal(run(['true']), 0);
  assert.notEqual(run(['false | cat']), 0, 'a failure inside a pipeline must fail the script');
  assert.notEqual(run(['echo "$UNSET_VARIABLE_XYZ"']), 0, 'unset variables must fail the script');
  assert.notEqual(run(['false', 'true']), 0, 'errexit must stop at the first failure');
});

test('bashScript refuses to run under a terminal, before running any of its lines', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'eqmd-pty-')), 'ran');
  const script = bashScript([`touch ${marker}`]);
  // util-linux `script` gives the command a pty, as a ForceCommand session-recording wrapper does.
  const r = spawnSync('script', ['-qefc', script, '/dev/null'], { encoding: 'utf8' });
  assert.equal(r.status, UNDER_TERMINAL_EXIT, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /under a terminal \(pty\)/);
  assert.equal(existsSync(marker), false, 'no line of the script may run under a pty');
  // Without a terminal the same script runs.
  execFileSync('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  assert.equal(existsSync(marker), true);
});

/**
 * The watchdog against real bash, under a stand-in for sshd (bash copied to a file named `sshd`, so its
 * comm is what the watchdog looks for), in a session of its own so its process group can be listed.
 */
function underFakeSshd(script: string, after: string): { sshd: ChildProcess; group: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-watchdog-'));
  const sshd = join(dir, 'sshd');
  copyFileSync('/bin/bash', sshd);
  chmodSync(sshd, 0o755);
  const child = spawn('setsid', [sshd, '-c', `sh -c "$1"; ${after}`, 'sshd', script], { stdio: 'ignore' });
  const group = () =>
    spawnSync('ps', ['-o', 'pid=,args=', '-g', String(child.pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      // A zombie has ended: only its parent's reaping is left (here init's, which may be slow).
      .filter((l) => l.trim() !== '' && !l.endsWith('<defunct>'));
  return { sshd: child, group };
}

test('the orphan watchdog ends with its script while the connection stays open', async () => {
  // One SSH connection serves a whole run: a watchdog that outlived its command polled until the end.
  const { sshd, group } = underFakeSshd(bashScript(['true']), 'sleep 5; true');
  try {
    await sleep(1500);
    const left = group();
    // Left: the stand-in sshd and its sleep; not a watchdog (bash).
    assert.equal(left.length, 2, left.join('\n'));
  } finally {
    sshd.kill('SIGKILL');
  }
});

test('the orphan watchdog waits without forking: no sleep process while its script runs', async () => {
  // Every running command has a watchdog: a `sleep` forked five times a second by each took CPU from
  // the work it watched (a deploy runs several commands side by side on a small host).
  const { sshd, group } = underFakeSshd(bashScript(['sleep 1.6']), 'true');
  try {
    await sleep(300);
    const seen: string[] = [];
    for (let i = 0; i < 10; i++, await sleep(100)) seen.push(...group());
    assert.ok(
      seen.some((l) => / sleep 1\.6$/.test(l)),
      `the script runs:\n${seen.join('\n')}`,
    );
    assert.ok(!seen.some((l) => / sleep 0\.2$/.test(l)), `a forked sleep:\n${seen.join('\n')}`);
  } finally {
    sshd.kill('SIGKILL');
  }
});

test('the orphan watchdog kills its script, traps run, when the connection dies', async () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'eqmd-orphan-')), 'trapped');
  const { sshd, group } = underFakeSshd(bashScript([`trap 'touch ${marker}' EXIT`, 'sleep 30']), 'true');
  await sleep(700);
  sshd.kill('SIGKILL');
  let left = group();
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await sleep(100);
    left = group();
  }
  assert.deepEqual(left, [], 'the script and its sleep must be gone once sshd is');
  assert.equal(existsSync(marker), true, 'the script’s EXIT trap must run');
});
