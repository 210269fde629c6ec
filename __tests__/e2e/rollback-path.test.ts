import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  connectionInputs,
  envFileOf,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
} from './harness.js';

// Instance c: PostgreSQL on the host, reached with database-url as role eqmd (owner of eqmd_c).
const h = testHost();
const c = h.instances.c;
const role = (privilege: 'CREATEDB' | 'NOCREATEDB') =>
  sh(`cd / && runuser -u postgres -- psql -X -q -c 'ALTER ROLE eqmd ${privilege}'`);

describe('the rollback path is proven before the switch', () => {
  test('a role that may not create databases: the deploy is refused before the switch, production untouched', async () => {
    resetInstance('c');
    const inputs = {
      command: 'deploy',
      version: 'v3',
      ...connectionInputs(h, 'v2'),
      'project-dir': c.projectDir,
      'database-url': c.databaseUrl!,
      'health-url': c.healthUrl,
      'upload-artifact': 'false',
    };
    const before = { env: envFileOf(c), version: await servedVersion(c) };
    role('NOCREATEDB');
    try {
      // A hardened layout: the app's role owns its database but may not create one. The restore a
      // failed v3 would need goes through a fresh database: it could not run, so v3 never starts.
      const r = await runAction(inputs);
      assert.equal(r.code, 1, r.stdout.slice(-2000));
      assert.equal(r.outputs.result, 'refused');
      assert.match(
        r.stdout,
        /could not restore the database: role eqmd may not create databases \(CREATEDB\)/,
      );
      assert.deepEqual({ env: envFileOf(c), version: await servedVersion(c) }, before, 'nothing switched');
      // Asked not to restore, the deploy goes ahead (and v3's failure then keeps its schema).
      const never = await runAction({ ...inputs, version: 'v2', 'restore-database': 'never' });
      assert.equal(never.code, 0, never.stdout.slice(-2000));
      assert.equal(await servedVersion(c), 'v2');
      // A rollback that must restore the database checks the same before it stops anything.
      const db = await runAction({
        ...inputs,
        command: 'rollback',
        version: '',
        'backup-id': never.outputs['backup-id']!,
        scope: 'database',
      });
      assert.equal(db.outputs.result, 'refused', db.stdout.slice(-2000));
      assert.match(
        db.stdout,
        /could not be restored: role eqmd may not create databases .*nothing was stopped/,
      );
      assert.equal(await servedVersion(c), 'v2', 'still serving');
    } finally {
      role('CREATEDB');
    }
    // With the privilege back, the same deploy is allowed (and v3 is rolled back with the database).
    const allowed = await runAction({ ...inputs, version: 'v3' });
    assert.equal(allowed.outputs.result, 'rolled-back', allowed.stdout.slice(-2000));
    assert.equal(await servedVersion(c), 'v2');
    resetInstance('c');
  });
});
