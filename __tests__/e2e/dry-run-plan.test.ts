import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  executed,
  connectionInputs,
  envFileOf,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
} from './harness.js';

// The dry run is the plan: every command it prints (but those naming the set it would make, whose
// id is new on each run) is run verbatim by the real run that follows it.
const h = testHost();
const a = h.instances.a;
const inputs = {
  ...connectionInputs(h, 'v2'),
  'project-dir': a.projectDir,
  'health-url': a.healthUrl.replace('127.0.0.1', 'localhost'),
  'upload-artifact': 'false',
};

/** The commands of a printed plan (formatPlan: `N. title`, `   $ command`, continued 5 spaces in). */
function plannedCommands(text: string): string[] {
  const out: string[] = [];
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('   $ ')) {
      if (current) out.push(current.join('\n'));
      current = [line.slice(5)];
    } else if (current && line.startsWith('     ') && !line.startsWith('   (stdin')) {
      current.push(line.slice(5));
    } else if (current) {
      out.push(current.join('\n'));
      current = null;
    }
  }
  if (current) out.push(current.join('\n'));
  return out;
}

const state = () => ({
  env: envFileOf(a),
  sets: sh(`ls ${a.projectDir}/backups 2>/dev/null || true`),
  container: sh(`docker ps -q --filter label=com.docker.compose.project=eqmd-a`),
});

describe('the dry run prints the exact plan the run executes', () => {
  test('deploy and emergency rollback: printed commands are run verbatim; the dry run changes nothing', async () => {
    resetInstance('a');
    const before = state();
    const dry = await runAction({ ...inputs, command: 'deploy', version: 'v2', 'dry-run': 'true' });
    assert.equal(dry.code, 0, dry.stdout.slice(-2000));
    assert.equal(dry.outputs.result, 'planned');
    assert.deepEqual(state(), before, 'the dry run changed nothing');
    const setId = /as set (\S+):/.exec(dry.stdout)?.[1];
    assert.ok(setId, 'the plan names the set it would make');
    const planned = plannedCommands(dry.stdout).filter((c) => !c.includes(setId));
    assert.ok(planned.length >= 5, `checks, classification and switch are printed: ${planned.length}`);
    assert.ok(
      planned.some((c) => c.includes('manage.py shell')),
      'the classification step is printed',
    );
    // The listing runs beside the running container when its configuration is unchanged (the plan
    // says so, with the compose run as the fallback it prints).
    const beside =
      /The listing of the migrations runs beside container ([0-9a-f]{12}) through the Docker API/.exec(
        dry.stdout,
      )?.[1];
    assert.ok(beside, 'the plan says where the listing runs');
    const real = await runAction({ ...inputs, command: 'deploy', version: 'v2' });
    assert.equal(real.code, 0, real.stdout.slice(-2000));
    assert.match(real.stdout, new RegExp(`ran beside container ${beside} \\(Docker API\\)`));
    const ran = executed(real.stdout);
    // The recovery's commands were printed for a failure; this deploy succeeds and never runs them,
    // nor the fallback of the listing.
    const recovery = dry.stdout.slice(dry.stdout.indexOf('If that verification fails'));
    const notRecovery = planned.filter((c) => !recovery.includes(c) && !c.includes('manage.py shell'));
    for (const c of notRecovery) assert.ok(ran.has(c), `printed but not run as printed:\n${c.slice(0, 400)}`);

    const dryBack = await runAction({ ...inputs, command: 'rollback', 'dry-run': 'true' });
    assert.equal(dryBack.code, 0, dryBack.stdout.slice(-2000));
    assert.equal(await servedVersion(a), 'v2', 'the rollback dry run changed nothing');
    const snapshotId = /as set (\S+):/.exec(dryBack.stdout)?.[1];
    assert.ok(snapshotId);
    const plannedBack = plannedCommands(dryBack.stdout).filter((c) => !c.includes(snapshotId));
    assert.ok(plannedBack.length >= 4, `checksums, env, retag, up: ${plannedBack.length}`);
    const back = await runAction({ ...inputs, command: 'rollback' });
    assert.equal(back.code, 0, back.stdout.slice(-2000));
    assert.equal(await servedVersion(a), 'v1');
    const ranBack = executed(back.stdout);
    for (const c of plannedBack)
      assert.ok(ranBack.has(c), `printed but not run as printed:\n${c.slice(0, 400)}`);
    resetInstance('a');
  });
});
