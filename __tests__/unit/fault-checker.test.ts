import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Instance } from '../e2e/harness.js';
import { invalidSetsOf, setsOf } from '../faults/inject.js';

// The fault suite's own checker: a set it cannot read is a violation it reports, never a crash.
test('the fault checker names committed sets without a whole manifest instead of crashing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-checker-'));
  const put = (id: string, manifest?: string) => {
    mkdirSync(join(dir, id));
    if (manifest !== undefined) writeFileSync(join(dir, id, 'manifest.json'), manifest);
  };
  put('20261201T100000Z-aaaaaa', JSON.stringify({ created: '2026-12-01T10:00:00Z', files: [] }));
  put('20261201T110000Z-bbbbbb', '');
  put('20261201T120000Z-cccccc', '{"created": "2026-12-01T1');
  put('20261201T130000Z-dddddd');
  put('20261201T140000Z-eeeeee', '{"id": 1}');
  mkdirSync(join(dir, '.tmp-20261201T150000Z-ffffff'));
  const i = {} as Instance;
  assert.deepEqual(
    setsOf(i, dir).map((s) => s.id),
    ['20261201T100000Z-aaaaaa'],
  );
  const problems = invalidSetsOf(i, dir);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /20261201T110000Z-bbbbbb was committed with an empty manifest\.json/);
  assert.match(problems.join('\n'), /20261201T120000Z-cccccc: manifest\.json is not JSON/);
  assert.match(problems.join('\n'), /20261201T130000Z-dddddd has no manifest\.json/);
  assert.match(problems.join('\n'), /20261201T140000Z-eeeeee: manifest\.json lacks created or files/);
});
