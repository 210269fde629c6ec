import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import type { SetSummary } from '../../src/manifest.js';
import { connectionInputs, resetInstances, runAction, sh, testHost } from './harness.js';

const h = testHost();
const { a, b } = h.instances;
/** Both instances write to one absolute directory: namespacing must keep them apart. */
const SHARED = '/srv/eqmd-test/shared-backups';
const tags = (project: string) =>
  sh(`docker images --format '{{.Tag}}' eqmd-rollback/${project}`).trim().split('\n').filter(Boolean).sort();
const inA = {
  ...connectionInputs(h, 'v2'),
  'project-dir': a.projectDir,
  'backup-dir': SHARED,
  'upload-artifact': 'false',
};
const inB = {
  ...connectionInputs(h, 'v1'),
  'project-dir': b.projectDir,
  'backup-dir': SHARED,
  'upload-artifact': 'false',
};

describe('dry run, retention and list with two instances sharing a backup directory', () => {
  before(async () => {
    await resetInstances('a', 'b');
    sh(`rm -rf ${SHARED} && install -d -m 1777 ${SHARED}`);
    sh(
      `docker images --format '{{.Repository}}:{{.Tag}}' | grep '^eqmd-rollback/' | xargs -r docker rmi >/dev/null`,
    );
  });

  test('dry run prints the exact remote commands and changes nothing', async () => {
    const before = {
      files: sh(`find ${SHARED} | sort`),
      tags: tags('eqmd-a'),
      env: sh(`sha256sum ${a.projectDir}/.env`),
    };
    const r = await runAction({ ...inA, command: 'backup', 'dry-run': 'true' });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /Dry run: nothing was changed/);
    assert.match(r.summary, /dry run/);
    assert.match(r.summary, /docker tag sha256:[0-9a-f]+ eqmd-rollback\/eqmd-a:/);
    assert.match(r.summary, /mv -T/);
    assert.equal(r.outputs['backup-id'], undefined);
    assert.deepEqual(
      { files: sh(`find ${SHARED} | sort`), tags: tags('eqmd-a'), env: sh(`sha256sum ${a.projectDir}/.env`) },
      before,
    );
  });

  test('retention keeps the newest N verified sets of one instance and never touches the other', async () => {
    const rb = await runAction({ ...inB, command: 'backup' });
    assert.equal(rb.code, 0, rb.stdout);
    const bId = rb.outputs['backup-id']!;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runAction({ ...inA, command: 'backup', 'keep-backups': '2' });
      assert.equal(r.code, 0, r.stdout);
      ids.push(r.outputs['backup-id']!);
    }
    assert.ok(!existsSync(`${SHARED}/${ids[0]}`), 'the oldest set of a was pruned');
    assert.ok(existsSync(`${SHARED}/${ids[1]}`) && existsSync(`${SHARED}/${ids[2]}`));
    assert.deepEqual(tags('eqmd-a'), [ids[1], ids[2]].sort(), 'the pruned set took its image tag with it');
    assert.ok(existsSync(`${SHARED}/${bId}/manifest.json`), "b's set is untouched");
    assert.deepEqual(tags('eqmd-b'), [bId]);

    const la = await runAction({ ...inA, command: 'list' });
    assert.equal(la.code, 0, la.stdout);
    const setsA = JSON.parse(la.outputs.backups!) as SetSummary[];
    assert.deepEqual(
      setsA.map((s) => s.id),
      [ids[2], ids[1]],
      'newest first, only instance a',
    );
    for (const s of setsA) {
      assert.deepEqual(Object.keys(s).sort(), [
        'bytes',
        'created',
        'database',
        'id',
        'image',
        'reason',
        'verified',
      ]);
      assert.equal(s.verified, true);
      assert.equal(s.database, 'sqlite');
      assert.equal(s.reason, 'manual');
      assert.equal(s.image, `${h.image}:v1`);
      assert.ok(s.bytes > 0);
    }
    assert.match(la.summary, new RegExp(`\\| ${ids[2]} \\|`));
    assert.ok(!la.summary.includes(`| ${bId} |`), "b's set is never listed for a");

    const lb = await runAction({ ...inB, command: 'list' });
    assert.deepEqual(
      (JSON.parse(lb.outputs.backups!) as SetSummary[]).map((s) => [s.id, s.database]),
      [[bId, 'postgres']],
    );
  });

  test('list of an instance without backups is an empty list, not an error', async () => {
    const r = await runAction({ ...inA, command: 'list', 'backup-dir': 'no-backups-here' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.outputs.backups, '[]');
  });
});
