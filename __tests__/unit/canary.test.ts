import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pruneStep } from '../../src/backup/stored-sets.js';
import type { Step } from '../../src/backup/steps.js';
import { restoreEnvStep, retagStep, setImageVariableStep } from '../../src/deploy/commands.js';
import { checkSetsStep, verifySetStep } from '../../src/restore/checksums.js';
import { pgRestoreIntoNewStep } from '../../src/restore/postgres.js';
import { pullByDigestStep } from '../../src/restore/image.js';
import { sqliteRestoreStep } from '../../src/restore/sqlite.js';
import { volumeRestoreStep } from '../../src/restore/volume.js';

/**
 * Defence in depth behind the manifest schema: every builder that takes a value read from a manifest
 * is fed shell payloads in that value and run under a real shell, with stand-ins for docker and the
 * PostgreSQL tools that never run their arguments. A payload that became code would create the canary.
 */

const dir = mkdtempSync(join(tmpdir(), 'eqmd-canary-'));
const CANARY = join(dir, 'canary');
const PAYLOADS = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `'; touch ${CANARY}; '`,
  `"; touch ${CANARY}; "`,
  `x\ntouch ${CANARY}\n`,
  `x|e touch ${CANARY}|`,
  `1 ]; touch ${CANARY}; [ 1`,
  `--help; touch ${CANARY}`,
];

const bin = join(dir, 'bin');
mkdirSync(bin);
for (const tool of ['docker', 'psql', 'pg_restore', 'pg_dump', 'sha256sum']) {
  writeFileSync(join(bin, tool), '#!/bin/sh\ncat >/dev/null 2>&1 || true\nexit 0\n');
  chmodSync(join(bin, tool), 0o755);
}
/**
 * Runs a step under a real shell, in a directory of its own (an env file the rewrite can edit), so
 * that runs can overlap: each walks its parent chain in the watchdog, forking on every level, and 128
 * of them one after another took 40 s of CI.
 */
let runs = 0;
function run(step: Step): Promise<void> {
  const cwd = join(dir, `run-${runs++}`);
  mkdirSync(cwd);
  writeFileSync(join(cwd, '.env'), 'EQMD_IMAGE=r/eqmd:v1\n');
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', step.command], {
      cwd,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      stdio: ['pipe', 'ignore', 'ignore'],
      timeout: 10_000,
    });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
    child.stdin.on('error', () => {});
    child.stdin.end(step.stdin ?? '');
  });
}

const builders: [string, (p: string) => Step][] = [
  ['env rewrite: reference', (p) => setImageVariableStep('.env', 'EQMD_IMAGE', p)],
  ['env rewrite: variable', (p) => setImageVariableStep('.env', p, 'r/eqmd:v2')],
  ['env restore: saved file', (p) => restoreEnvStep(p, '.env')],
  ['retag: backup tag', (p) => retagStep(p, 'r/eqmd:v1')],
  ['retag: reference', (p) => retagStep('eqmd-rollback/p:x', p)],
  ['set check: file path', (p) => verifySetStep(dir, [{ path: p, role: 'env-file', bytes: 1, sha256: 'a' }])],
  [
    'set check: checksum',
    (p) => verifySetStep(dir, [{ path: 'env', role: 'env-file', bytes: 1, sha256: p }]),
  ],
  [
    'sets check: file path',
    (p) => checkSetsStep(dir, [{ id: 'x', files: [{ path: p, role: 'env-file', bytes: 1, sha256: 'a' }] }]),
  ],
  ['prune: tag', (p) => pruneStep(dir, [{ id: 'x', tag: p }])],
  ['pull by digest: digest', (p) => pullByDigestStep([p], 'sha256:1', 'eqmd-rollback/p:x')],
  ['pull by digest: image id', (p) => pullByDigestStep(['r/e@sha256:1'], p, 'eqmd-rollback/p:x')],
  [
    'volume restore: entries',
    (p) =>
      volumeRestoreStep({
        id: 'x',
        projectDir: dir,
        volume: 'v',
        archive: '/dev/null',
        image: 'i',
        entries: p as unknown as number,
      }),
  ],
  [
    'volume restore: name',
    (p) =>
      volumeRestoreStep({
        id: 'x',
        projectDir: dir,
        volume: p,
        archive: '/dev/null',
        image: 'i',
        entries: 1,
      }),
  ],
  [
    'volume restore: image',
    (p) =>
      volumeRestoreStep({
        id: 'x',
        projectDir: dir,
        volume: 'v',
        archive: '/dev/null',
        image: p,
        entries: 1,
      }),
  ],
  [
    'sqlite restore: expected counts',
    (p) =>
      sqliteRestoreStep({
        id: 'x',
        projectDir: dir,
        appContainer: 'c',
        image: 'i',
        sqlitePath: '/app/db.sqlite3',
        backupFile: '/dev/null',
        expected: { sha256: p, tables: { [p]: 1 }, schema: p },
      }),
  ],
  [
    'pg restore: table names',
    (p) =>
      pgRestoreIntoNewStep({ via: 'postgres-service', containerId: 'pg' }, '/dev/null', [p, `public.${p}`]),
  ],
];

test('no manifest value can become code in any script that uses one', async () => {
  const cases = builders.flatMap(([name, build]) => PAYLOADS.map((payload) => ({ name, build, payload })));
  // Four at a time: the checks fork, and this machine has two cores.
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async ({ name, build, payload }) => {
        await run(build(payload));
        assert.equal(existsSync(CANARY), false, `${name}: ${JSON.stringify(payload)} ran`);
      }),
    );
  }
});

test('the canary is real: a spliced value would have created it', async () => {
  await run({ title: 'spliced on purpose', command: `bash -c "echo ${PAYLOADS[0]}"` });
  assert.equal(existsSync(CANARY), true);
});
