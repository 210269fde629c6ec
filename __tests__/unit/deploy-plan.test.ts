import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  candidateStartStep,
  preDeployStep,
  pullStep,
  removeContainerStep,
  setImageVariableStep,
  upStep,
} from '../../src/deploy/commands.js';
import { composeConfigStep } from '../../src/deploy/config-check.js';
import { planDeploy } from '../../src/deploy/plan.js';
import { RefusedError } from '../../src/errors.js';
import type { Facts } from '../../src/operations/facts.js';
import { appContainer, appImage } from './fake-host.js';
import { settingsFor } from './host-fixture.js';

const compose = {
  flavor: 'v2' as const,
  projectDir: '/srv/eqmd-a',
  composeFile: 'docker-compose.yml',
  project: 'eqmd-a',
  envFile: '.env',
};
const facts = (over: Partial<Facts> = {}, imageVariable = 'registry.local/eqmd:v1'): Facts => ({
  probe: {
    hostname: 'web1',
    flavor: 'v2',
    projectDirExists: true,
    composeFileExists: true,
    envFileExists: true,
    imageVariable,
    envProjectName: '',
    containerIds: ['c0ffee'],
    backupFreeKb: 999999,
  },
  compose,
  project: 'eqmd-a',
  container: appContainer,
  image: appImage,
  backupDir: '/srv/eqmd-a/backups',
  proxy: null,
  ...over,
});

test('deploy plan, recreate: checks, then the switch, exact steps from the one look at the host', () => {
  const s = settingsFor('deploy', { version: 'v2', 'pre-deploy-command': 'python manage.py check' });
  const p = planDeploy(s, facts());
  assert.equal(p.previousImage, 'registry.local/eqmd:v1');
  assert.equal(p.reference, 'registry.local/eqmd:v2');
  assert.deepEqual(p.check, composeConfigStep(compose, 'eqmd'));
  assert.deepEqual(p.fetch, [
    pullStep('registry.local/eqmd:v2', undefined),
    preDeployStep(compose, 'EQMD_IMAGE', 'registry.local/eqmd:v2', 'eqmd', 'python manage.py check'),
  ]);
  assert.equal(p.candidate, null);
  assert.deepEqual(
    p.setImage,
    setImageVariableStep('/srv/eqmd-a/.env', 'EQMD_IMAGE', 'registry.local/eqmd:v2'),
  );
  assert.deepEqual(p.up, upStep(compose, 'eqmd'));
});

test('deploy plan, blue-green: the candidate on the staging port, from the published container port', () => {
  const s = settingsFor('deploy', { version: 'v2', strategy: 'blue-green', 'staging-port': '18778' });
  const p = planDeploy(s, facts());
  const name = 'eqmd-rollback-candidate-eqmd-a';
  assert.deepEqual(p.candidate, {
    name,
    start: candidateStartStep(
      compose,
      'EQMD_IMAGE',
      'registry.local/eqmd:v2',
      'eqmd',
      name,
      18778,
      '8000/tcp',
    ),
    remove: removeContainerStep(name),
    port: 18778,
  });
});

test('deploy plan refuses what cannot be planned, before anything runs', () => {
  assert.throws(
    () => planDeploy(settingsFor('deploy', { version: 'v2' }), facts({}, '')),
    (e: unknown) => e instanceof RefusedError && /EQMD_IMAGE is not set in \.env/.test(e.message),
  );
  const s = settingsFor('deploy', { version: 'v2', strategy: 'blue-green' });
  assert.throws(
    () => planDeploy(s, facts({ container: { ...appContainer, ports: [] } })),
    (e: unknown) =>
      e instanceof RefusedError &&
      /blue-green needs the service to publish the health-url port 8778/.test(e.message),
  );
});
