import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import {
  envFileOf,
  recordCount,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import { healthStatus, helperContainers, instanceInputs, lockHeld, runningAppContainers } from './inject.js';

const h = testHost();
const { a, c } = h.instances;
const run = (i: Instance, inputs: Record<string, string>) => runAction({ ...instanceInputs(i), ...inputs });
const state = async (i: Instance) => ({
  env: envFileOf(i),
  version: await servedVersion(i),
  health: await healthStatus(i),
  rows: await recordCount(i),
  containers: runningAppContainers(i).length,
});
const refused = (r: ActionRun, why: RegExp) => {
  assert.equal(r.code, 1, r.stdout.slice(-3000));
  assert.equal(r.outputs.result, 'refused', r.stdout.slice(-3000));
  assert.match(r.stdout, why);
  assert.match(r.stdout, /Nothing was switched/);
};

describe('the rollback path, proven before the switch', () => {
  fault(21, 'an app role that may not create databases; a full disk for the restore', async () => {
    // A backup dir with room for the deploy's backup, not for the snapshot its rollback would take.
    resetInstance('a');
    const tight = join(a.projectDir, 'tight-disk');
    sh(
      `mkdir -p ${tight} && mount -t tmpfs -o size=256k,mode=0770,uid=$(id -u deploy),gid=$(getent group docker | cut -d: -f3) tmpfs ${tight}`,
    );
    let sets: string[];
    try {
      const before = await state(a);
      const d = await run(a, { command: 'deploy', version: 'v2', 'backup-dir': tight });
      refused(
        d,
        /could not restore the database: the backup dir has 0\.\d MiB free; the pre-restore snapshot needs about 1\.\d MiB/,
      );
      assert.deepEqual(await state(a), before, 'production untouched: v1 serving, env and rows as they were');
      sets = readdirSync(tight);
      assert.equal(sets.length, 1, 'the backup the deploy made is kept, whole');
      assert.equal(lockHeld(a), false);
      assert.deepEqual(helperContainers(), []);
    } finally {
      sh(`umount ${tight} && rmdir ${tight}`);
    }
    // A hardened PostgreSQL layout: the app's role owns its database but may not create one.
    resetInstance('c');
    const role = (p: string) => sh(`cd / && runuser -u postgres -- psql -X -q -c 'ALTER ROLE eqmd ${p}'`);
    const before = await state(c);
    role('NOCREATEDB');
    try {
      const d = await run(c, { command: 'deploy', version: 'v3', 'database-url': c.databaseUrl! });
      refused(d, /could not restore the database: role eqmd may not create databases \(CREATEDB\)/);
      assert.deepEqual(await state(c), before, 'production untouched');
    } finally {
      role('CREATEDB');
    }
    return `full disk: deploy refused before the switch (backup ${sets[0]} kept whole), v1 serving; role without CREATEDB: refused, v1 serving`;
  });
});
