import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
