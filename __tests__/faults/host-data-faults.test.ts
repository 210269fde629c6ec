import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { startResultsDouble, type ResultsDouble } from '../../testhost/results-double.js';
import {
  envFileOf,
  resetInstance,
  runAction,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
} from '../e2e/harness.js';
import { fault } from './fault.js';
import { backupDirOf, instanceInputs, runningAppContainers } from './inject.js';
import { obeyedCommands as obeyed } from '../workflow-commands.js';

/** Rows 16–18: what the host hands back (manifests, lock records, the app's output) is data. */

const h = testHost();
const { a } = h.instances;
const backups = backupDirOf(a);

/** The state a refused run must leave as it found: env file, container, served version, set files. */
async function snapshot(): Promise<string> {
  return JSON.stringify({
    env: envFileOf(a),
    containers: runningAppContainers(a),
    version: await servedVersion(a),
    sets: sh(`ls -a ${backups}`),
  });
}

describe('host data faults', () => {
  let results: ResultsDouble;
  before(async () => {
    resetInstance('a');
    results = await startResultsDouble();
  });
  after(async () => results?.close());

  fault(16, 'a manifest edited on the host (payloads, traversal, a foreign tag, huge numbers)', async () => {
    const made = await runAction({ ...instanceInputs(a), command: 'backup' });
    assert.equal(made.code, 0, made.stdout.slice(-2000));
    const id = made.outputs['backup-id']!;
    const file = join(backups, id, 'manifest.json');
    const original = readFileSync(file, 'utf8');
    const canary = join(mkdtempSync(join(tmpdir(), 'eqmd-canary-')), 'ran');
    type M = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const tampered: [string, (m: M) => void][] = [
      ['image.reference', (m) => (m.image.reference = `127.0.0.1:5000/eqmd:v1|e touch ${canary}|`)],
      ['image.envValue', (m) => (m.image.envValue = `$(touch ${canary})`)],
      ['image.variable', (m) => (m.image.variable = `EQMD_IMAGE;touch ${canary}`)],
      ['image.backupTag', (m) => (m.image.backupTag = `${h.image}:v3`)],
      ['files.0.path', (m) => (m.files[0].path = '../../../../etc/passwd')],
      ['volumes.0.entries', (m) => (m.volumes[0].entries = `1 ]; touch ${canary}; [ 1`)],
      ['totalBytes', (m) => (m.totalBytes = 1e300)],
      ['reason', (m) => (m.reason = 'pre-deploy\n::error::PWNED-16')],
    ];
    const before = await snapshot();
    try {
      for (const [field, edit] of tampered) {
        const m = JSON.parse(original) as M;
        edit(m);
        writeFileSync(file, JSON.stringify(m));
        const r = await runAction({
          ...instanceInputs(a),
          command: 'rollback',
          'backup-id': id,
          scope: 'full',
        });
        assert.notEqual(r.code, 0, `${field}: a tampered set must be refused`);
        assert.match(
          r.stdout,
          new RegExp(`backup set ${id}: manifest field ${field.replace(/\./g, '\\.')}:`),
          field,
        );
        assert.ok(
          !r.stdout.includes('PWNED') && !existsSync(canary),
          `${field}: nothing of it ran or was echoed`,
        );
        assert.equal(await snapshot(), before, `${field}: nothing changed`);
      }
      // A set directory someone else owns is refused the same way, whatever its manifest says.
      writeFileSync(file, original);
      sh(`chown root ${join(backups, id)}`);
      const foreign = await runAction({
        ...instanceInputs(a),
        command: 'rollback',
        'backup-id': id,
        scope: 'full',
      });
      assert.notEqual(foreign.code, 0);
      assert.match(foreign.stdout, /not used: its directory is not owned by the SSH user/);
      assert.equal(await snapshot(), before);
    } finally {
      sh(`chown deploy ${join(backups, id)}`);
      writeFileSync(file, original);
    }
    return `${tampered.length} tampered fields and a foreign-owned set refused naming the field; no canary, nothing changed`;
  });

  fault(17, 'host text with :: workflow commands (lock owner, manifest text, directory names)', async () => {
    const lock = join(a.projectDir, '.eqmd-rollback.lock');
    const planted = join(backups, '20261101T000000Z-0a0a0a');
    const oddName = join(backups, 'x\n::error::PWNED-17');
    try {
      sh(`mkdir -p ${planted} '${oddName}' && chown deploy ${planted} && chmod 700 ${planted}`);
      writeFileSync(
        join(planted, 'manifest.json'),
        JSON.stringify({
          schema: 'eqmd-rollback/manifest@1',
          id: '20261101T000000Z-0a0a0a',
          reason: 'x\n::error::PWNED-17',
        }),
      );
      const listed = await runAction({ ...instanceInputs(a), command: 'list' });
      assert.equal(listed.code, 0, listed.stdout.slice(-2000));
      // A lock someone planted, young and without a keeper: a run waits, then fails naming the holder.
      sh(`mkdir -m 755 ${lock}`);
      writeFileSync(
        join(lock, 'owner.json'),
        JSON.stringify({
          command: 'deploy',
          actor: 'eve\n::error::PWNED-17',
          repository: '::add-mask::x',
          started: '2026-12-01T10:00:00Z',
        }),
      );
      const held = await runAction({ ...instanceInputs(a), command: 'backup', 'lock-timeout': '1' });
      assert.notEqual(held.code, 0, 'the planted lock is honoured');
      for (const r of [listed, held] as ActionRun[]) {
        // Only what was planted: the action's own ::add-mask:: lines (its SSH key) are obeyed on purpose.
        const commands = obeyed(r.stdout).filter((c) => c.includes('PWNED') || c === '::add-mask::x');
        assert.deepEqual(commands, [], 'no host text became a workflow command');
      }
      assert.match(
        held.stdout,
        /held by deploy by unknown \(unknown repository, a run\) since 2026-12-01T10:00:00Z/,
      );
    } finally {
      sh(`rm -rf ${lock} ${planted} '${oddName}'`);
    }
    return 'lock owner, manifest reason and a directory name with :: lines: no workflow command, shown inert';
  });

  fault(18, 'a failing release whose health body and logs carry a marker', async () => {
    const MARKER = 'EQMD-APP-OUTPUT-7f3a';
    const r = await runAction(
      { ...instanceInputs(a), command: 'deploy', version: 'v3', 'upload-artifact': 'true' },
      { env: results.env() },
    );
    assert.equal(r.code, 1, r.stdout.slice(-2000));
    assert.equal(r.outputs['rolled-back'], 'true');
    const stored = (await results.artifacts()).filter(
      (x) => x.name === `eqmd-deploy-${r.outputs['backup-id']}`,
    );
    assert.equal(stored.length, 1);
    const dir = mkdtempSync(join(tmpdir(), 'eqmd-f18-'));
    writeFileSync(join(dir, 'a.zip'), stored[0]!.zip);
    const artifact = execFileSync('unzip', ['-p', join(dir, 'a.zip')], { encoding: 'utf8' });
    for (const [where, text] of Object.entries({ log: r.stdout, summary: r.summary, artifact }))
      assert.ok(!text.includes(MARKER), `the marker reached the ${where}`);
    const failedId = /failed state was saved first as backup set `([^`]+)`/.exec(r.summary)?.[1];
    assert.ok(failedId, r.summary);
    const kept = join(backups, failedId, 'app-output.txt');
    assert.match(readFileSync(kept, 'utf8'), new RegExp(MARKER), 'kept on the host for the operator');
    assert.equal(statSync(kept).mode & 0o777, 0o600);
    resetInstance('a');
    return 'marker in no log line, summary, annotation or artifact; kept in the failed-state set (0600)';
  });
});
