import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInfo } from '../../src/docker-api.js';
import { resumeDecision } from '../../src/operations/resume.js';

const c = (id: string, running: boolean) => ({ id, name: `eqmd-${id}`, running }) as ContainerInfo;
const stopped = (overwriting: boolean) => ({
  containerId: 'c1',
  target: '20260101T000000Z-abcdef',
  overwriting,
});

test('after an interrupted run: start the stopped container only while nothing was overwritten', () => {
  assert.deepEqual(resumeDecision(stopped(false), [c('c1', false)]), {
    action: 'start',
    containerId: 'c1',
    why: 'the interrupted rollback to 20260101T000000Z-abcdef had stopped it but overwritten nothing: started again as it was',
  });
  const half = resumeDecision(stopped(true), [c('c1', false)]);
  assert.equal(half.action, 'leave');
  assert.match(half.why, /had begun overwriting .* it stays stopped: re-run this job/);
  assert.equal(resumeDecision(stopped(false), [c('c2', false)]).action, 'leave', 'its container is gone');
  assert.equal(resumeDecision(null, []).action, 'leave', 'no running container is always said');
  assert.deepEqual(resumeDecision(stopped(true), [c('c1', false), c('c2', true)]), {
    action: 'none',
    why: 'eqmd-c2 is running',
  });
  assert.equal(resumeDecision(null, [c('c1', true)]).action, 'none');
});
