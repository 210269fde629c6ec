import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOwner } from '../../src/lock/judge.js';
import { commandSafe } from '../../src/log.js';
import { obeyedCommands as obeyed } from '../workflow-commands.js';

/** Text read from the host must never become a workflow command in the log. */

test('commandSafe: plain text is unchanged; a text with command lines is fenced with an unguessable token', () => {
  assert.equal(
    commandSafe('took the host lock /srv/a/.eqmd-rollback.lock'),
    'took the host lock /srv/a/.eqmd-rollback.lock',
  );
  assert.equal(commandSafe('a :: in the middle is no command'), 'a :: in the middle is no command');
  const payloads = [
    'held by x\n::error title=pwned::PWNED',
    'x\n   ::add-mask::PWNED',
    'x\n::stop-commands::guess\n::error::PWNED\n::guess::\n::warning::PWNED',
    '##[error]PWNED',
    'x\r\n::set-output name=a::PWNED',
  ];
  for (const p of payloads) {
    const out = commandSafe(p);
    assert.deepEqual(obeyed(out), [], JSON.stringify(out));
    assert.ok(out.includes(p), 'the text itself is still shown');
  }
  const tokens = new Set([commandSafe('::a::', undefined), commandSafe('::a::', undefined)]);
  assert.equal(tokens.size, 2, 'a fresh token each time');
});

test('a planted lock owner record is shown only field by field, never as a command', () => {
  const planted = JSON.stringify({
    command: 'deploy\n::error::PWNED',
    actor: 'ana\n::add-mask::x',
    repository: 'org/x',
    runUrl: 'javascript:alert(1)',
    runner: '::add-mask::x',
    runId: '9; rm -rf /',
    started: '2026-12-01T10:00:00Z',
  });
  const who = describeOwner(planted);
  assert.equal(who, 'an operation by unknown (org/x, a run) since 2026-12-01T10:00:00Z');
  assert.equal(describeOwner('::error::PWNED not json'), 'an unreadable owner record');
  assert.equal(describeOwner('[1]'), 'an unreadable owner record');
  assert.equal(describeOwner(''), 'an owner that left no record (taken by hand?)');
  assert.equal(
    describeOwner(
      JSON.stringify({
        command: 'backup',
        actor: 'ana',
        repository: 'org/x',
        runUrl: 'https://github.com/org/x/actions/runs/9',
        started: '2026-12-01T10:00:00.000Z',
      }),
    ),
    'backup by ana (org/x, https://github.com/org/x/actions/runs/9) since 2026-12-01T10:00:00.000Z',
  );
});
