/**
 * `npm run lint` part: every remote script the action builds, made with representative values, is
 * checked by shellcheck as bash. The scripts are constant text with data as positional parameters, so
 * what is checked here is what runs on a host. Installs shellcheck (Debian) when it is missing and
 * this runs as root, as CI does on a bare machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeHelperStep, sweepHelpersStep } from '../src/backup/helper-containers.js';
import { postgresServiceStep, postgresUrlStep } from '../src/backup/postgres-steps.js';
import { setPaths } from '../src/backup/set-paths.js';
import {
  checksumStep,
  cleanupStep,
  finalizeStep,
  prepareStep,
  tagImageStep,
} from '../src/backup/set-steps.js';
import { sqliteStep } from '../src/backup/sqlite-step.js';
import { keepFileStep, pruneStep, readManifestsStep } from '../src/backup/stored-sets.js';
import { volumeStep } from '../src/backup/volume-step.js';
import type { Step } from '../src/backup/steps.js';
import type { ComposeTarget } from '../src/compose.js';
import * as deploy from '../src/deploy/commands.js';
import * as configCheck from '../src/deploy/config-check.js';
import { parseSettings } from '../src/inputs/parse.js';
import * as lock from '../src/lock/commands.js';
import { migrateBackStep, migrationFactsStep } from '../src/migrations/step.js';
import { probeScript } from '../src/probe.js';
import { bashScript } from '../src/shell.js';
import { commands as proxyCommands, PROXY_SIDE_SCRIPT, runtimeStep } from '../src/proxy/runtime.js';
import { staticFilesCommand } from '../src/verify/commands.js';
import { checkSetsStep, verifySetStep } from '../src/restore/checksums.js';
import { pullByDigestStep } from '../src/restore/image.js';
import {
  pgCanRestoreStep,
  pgDropNewStep,
  pgRestoreIntoNewStep,
  pgSwapStep,
  type PgTarget,
} from '../src/restore/postgres.js';
import { sqliteRestoreStep } from '../src/restore/sqlite.js';
import { pgCarryOverStep } from '../src/carry-over/pg-step.js';
import { restoreSpaceStep } from '../src/restore/space.js';
import { volumeRestoreStep } from '../src/restore/volume.js';

const ID = '20261124T101530Z-abcdef';
const paths = setPaths('/srv/eqmd/backups', ID);
const owner = { id: ID, projectDir: '/srv/eqmd' };
const url = {
  host: 'db.internal',
  port: 5432,
  user: 'eqmd',
  database: 'eqmd',
  password: 'x',
  sslmode: 'require',
};
const files = [{ path: 'env', role: 'env-file' as const, bytes: 1, sha256: 'a'.repeat(64) }];
const t = (flavor: 'v1' | 'v2'): ComposeTarget => ({
  flavor,
  projectDir: '/srv/eqmd',
  composeFile: 'docker-compose.yml',
  project: 'eqmd',
  envFile: '.env',
});
const settings = parseSettings(
  (n) =>
    ({
      command: 'backup',
      host: 'h',
      username: 'u',
      password: 'p',
      'insecure-ignore-host-key': 'true',
      'project-dir': '/srv/eqmd',
    })[n] ?? '',
  {},
);

const steps: Step[] = [
  sweepHelpersStep('/srv/eqmd', '/srv/eqmd/backups'),
  removeHelperStep('eqmd-rollback-helper-20260101T000000Z-abcdef'),
  prepareStep(paths, '/srv/eqmd/.env', '/srv/eqmd/docker-compose.yml', '/srv/eqmd'),
  tagImageStep('sha256:1', 'eqmd-rollback/eqmd:x'),
  sqliteStep(paths, { containerId: 'c1', running: true, image: 'img' }, '/app/db.sqlite3', owner),
  sqliteStep(paths, { containerId: 'c1', running: false, image: 'img' }, '/app/db.sqlite3', owner),
  postgresServiceStep(paths, 'pg1'),
  postgresUrlStep(paths, url),
  volumeStep(paths, { name: 'eqmd_media', mountpoint: '/app/media' }, 'img', owner),
  checksumStep(paths),
  finalizeStep(paths, '{}'),
  keepFileStep('/srv/eqmd/backups/x/app-output.txt', 'text'),
  cleanupStep(paths, ID, 'eqmd-rollback/eqmd:x', 'c1'),
  pruneStep('/srv/eqmd/backups', [{ id: ID, tag: 'eqmd-rollback/eqmd:x' }]),
  readManifestsStep('/srv/eqmd/backups'),
  verifySetStep('/srv/eqmd/backups/x', files),
  sqliteRestoreStep({
    id: ID,
    projectDir: '/srv/eqmd',
    appContainer: 'c1',
    image: 'img',
    sqlitePath: '/app/db.sqlite3',
    backupFile: '/srv/eqmd/backups/x/database.sqlite3',
    expected: { sha256: 'a', tables: {}, schema: 'b' },
  }),
  restoreSpaceStep('/srv/eqmd/backups', {
    kind: 'sqlite',
    container: 'c0ffee',
    path: '/app/database/db.sqlite3',
  }),
  sqliteRestoreStep({
    id: '20261124T101530Z-3fa9c1',
    projectDir: '/srv/eqmd',
    appContainer: 'c0ffee',
    image: 'eqmd-rollback/eqmd:backup-x',
    sqlitePath: '/app/database/db.sqlite3',
    backupFile: '/srv/eqmd/backups/x/database.sqlite3',
    expected: { sha256: 'a', tables: {}, schema: 'b' },
    carryOver: {
      replacedFile: '/srv/eqmd/backups/20261124T101530Z-3fa9c1/database.sqlite3',
      replacedSha256: 'a'.repeat(64),
      report: '/srv/eqmd/backups/20261124T101530Z-3fa9c1/carry-over.json',
    },
  }),
  ...(['postgres-service', 'database-url'] as const).flatMap((via) => {
    const target: PgTarget = via === 'postgres-service' ? { via, containerId: 'pg1' } : { via, url };
    return [
      pgRestoreIntoNewStep(target, '/srv/eqmd/backups/x/database.dump', ['public.t']),
      pgSwapStep(target, ID),
      pgCanRestoreStep(target),
      restoreSpaceStep('/srv/eqmd/backups', {
        kind: 'postgres',
        target,
        container: via === 'postgres-service' ? 'pg1' : null,
      }),
      pgCarryOverStep(target, '/srv/eqmd/backups/20261124T101530Z-3fa9c1/carry-over.json'),
      pgDropNewStep(target),
    ];
  }),
  volumeRestoreStep({ ...owner, volume: 'eqmd_media', archive: '/a.tar', image: 'img', entries: 3 }),
  pullByDigestStep([`r/eqmd@sha256:${'a'.repeat(64)}`], 'sha256:1', 'eqmd-rollback/eqmd:x'),
  checkSetsStep('/srv/eqmd/backups', [{ id: ID, files }]),
  deploy.pullStep('r/eqmd:v2'),
  deploy.pullStep('r/eqmd:v2', { registry: 'r', username: 'u', password: 'p' }),
  ...(['v1', 'v2'] as const).flatMap((f) => [
    configCheck.composeConfigStep(t(f), 'eqmd'),
    deploy.preDeployStep(t(f), 'EQMD_IMAGE', 'r/eqmd:v2', 'eqmd', 'python manage.py check'),
    deploy.upStep(t(f), 'eqmd'),
    migrationFactsStep(t(f), 'EQMD_IMAGE', 'r/eqmd:v2', 'eqmd'),
    migrateBackStep(t(f), 'EQMD_IMAGE', 'r/eqmd:v8', 'eqmd', ['records:0001_initial', 'audit:zero']),
    deploy.stopStep(t(f), 'eqmd'),
    deploy.candidateStartStep(t(f), 'EQMD_IMAGE', 'r/eqmd:v2', 'eqmd', 'cand', 8779, '8000/tcp'),
    deploy.candidateStartStep(t(f), 'EQMD_IMAGE', 'r/eqmd:v2', 'eqmd', 'cand', null, null),
  ]),
  runtimeStep('c0ffee', proxyCommands.enable('service', '172.18.0.2', 8000), true),
  // The part that runs inside the proxy's container, with the runtime commands as its $1.
  { title: 'proxy side of runtimeStep', command: bashScript([PROXY_SIDE_SCRIPT]) },
  deploy.setImageVariableStep('/srv/eqmd/.env', 'EQMD_IMAGE', 'r/eqmd:v2'),
  deploy.restoreEnvStep('/srv/eqmd/backups/x/env', '/srv/eqmd/.env'),
  deploy.retagStep('eqmd-rollback/eqmd:x', 'r/eqmd:v1'),
  deploy.removeContainerStep('cand'),
  lock.acquireStep('/srv/eqmd/.eqmd-rollback.lock', 'tok', '{}'),
  lock.releaseStep('/srv/eqmd/.eqmd-rollback.lock', 'tok'),
  lock.lockOwnedStep('/srv/eqmd/.eqmd-rollback.lock', 'tok'),
  lock.breakStaleStep('/srv/eqmd/.eqmd-rollback.lock'),
  { title: 'lock keeper', command: lock.keeperCommand('/srv/eqmd/.eqmd-rollback.lock', 'tok') },
  { title: 'probe', command: probeScript(settings.app, settings.backup.dir) },
  { title: 'static files', command: staticFilesCommand('c0ffee', '/app/staticfiles', ['manifest.json']) },
];

/**
 * A builder added to src/ must be added above, or its script goes unchecked (two did). Every exported
 * `…Step`/`…Command`/`…Script` function is named in this file, or exempt here with the reason.
 */
const EXEMPT: Record<string, string> = {
  bashScript: 'the wrapper of every script above',
  startHelperCommand: 'a line of the backup steps above, checked inside them',
};
function unlisted(): string[] {
  const self = readFileSync(new URL(import.meta.url), 'utf8');
  const files = execFileSync('grep', ['-rlE', 'export function \\w+(Step|Command|Script)\\(', 'src'], {
    encoding: 'utf8',
  });
  return files
    .split('\n')
    .filter(Boolean)
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/export function (\w+(?:Step|Command|Script))\(/g)])
    .map((m) => m[1]!)
    .filter((name) => !(name in EXEMPT) && !new RegExp(`\\b${name}\\b`).test(self));
}

/** The bash body of `bash -c BODY bash ARGS…`, as the remote shell hands it to bash. */
function body(command: string): string {
  if (!command.startsWith('bash -c ')) throw new Error(`not a bash -c script: ${command.slice(0, 60)}`);
  return execFileSync('sh', ['-c', `f() { printf '%s' "$2"; }; f ${command.slice('bash'.length)}`], {
    encoding: 'utf8',
  });
}

if (spawnSync('shellcheck', ['--version']).status !== 0) {
  if (process.getuid?.() !== 0) {
    console.error('shellcheck is not installed: apt-get install shellcheck (Debian), then npm run lint');
    process.exit(1);
  }
  execFileSync('apt-get', ['install', '-y', '-qq', 'shellcheck'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

const dir = mkdtempSync(join(tmpdir(), 'eqmd-shellcheck-'));
let failed = 0;
steps.forEach((s, i) => {
  const file = join(dir, `${String(i).padStart(2, '0')}.bash`);
  writeFileSync(file, `#!/bin/bash\n# ${s.title}\n${body(s.command)}\n`);
  const r = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '--format=gcc', file], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`\n${s.title}:\n${r.stdout}`);
  }
});
console.log(`shellcheck: ${steps.length - failed} of ${steps.length} remote scripts clean`);
const missing = unlisted();
if (missing.length)
  console.log(`shellcheck: builders not listed in scripts/shellcheck-scripts.ts: ${missing.join(', ')}`);
process.exit(failed || missing.length ? 1 : 0);
