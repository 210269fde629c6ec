import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { uploadFiles } from './artifact.js';
import { newBackupId } from './backup/record.js';
import type { Log } from './log.js';
import { backup, type PendingCleanup } from './operations/backup.js';
import { list } from './operations/list.js';
import { parseSettings, SECRET_INPUTS, type Settings } from './settings.js';
import { openHost } from './ssh/open.js';
import { backupSummary, listSummary, planSummary } from './summary.js';
import { TOOL_VERSION } from './version.js';

export const coreLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  group: (title, fn) => core.group(title, fn),
};

/** Masks a secret and each of its lines: the runner matches masks line by line in multi-line values. */
export function maskSecrets(): void {
  for (const name of SECRET_INPUTS) {
    const value = core.getInput(name);
    if (!value) continue;
    core.setSecret(value);
    for (const line of value.split('\n')) if (line.trim().length >= 8) core.setSecret(line.trim());
    const urlPassword = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]+)@/.exec(value)?.[1];
    if (urlPassword) core.setSecret(decodeURIComponent(urlPassword));
  }
}

export function readSettings(): Settings {
  maskSecrets();
  return parseSettings((name) => core.getInput(name), process.env);
}

function workDir(name: string): string {
  const dir = join(process.env.RUNNER_TEMP || tmpdir(), 'eqmd-rollback', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function upload(
  settings: Settings,
  defaultName: string,
  dir: string,
  files: string[],
): Promise<string> {
  if (!settings.output.uploadArtifact) return 'Artifact upload is off (upload-artifact: false).';
  const name = settings.output.artifactName || defaultName;
  const result = await uploadFiles({
    name,
    files,
    rootDir: dir,
    retentionDays: settings.output.artifactRetentionDays,
  });
  if (result.uploaded) {
    core.setOutput('artifact-id', String(result.id));
    core.info(`uploaded artifact ${name} (id ${result.id}, ${result.size} bytes)`);
    return `Manifest uploaded as artifact **${name}**.`;
  }
  // The backup itself succeeded; a missing upload must be visible but must not undo that.
  core.warning(`artifact not uploaded: ${result.reason}`);
  return `Artifact not uploaded: ${result.reason}.`;
}

export async function run(): Promise<void> {
  core.saveState('isPost', 'true');
  try {
    const settings = readSettings();
    const { host, handshakes } = await openHost(settings.connection, coreLog);
    core.debug(`SSH handshakes: ${handshakes}`);
    try {
      if (settings.command === 'backup') await runBackup(settings, host);
      else await runList(settings, host);
    } finally {
      await host.close();
    }
  } catch (err) {
    core.setFailed(err instanceof Error ? err.message : String(err));
  }
}

async function runBackup(settings: Settings, host: Parameters<typeof backup>[0]): Promise<void> {
  const now = new Date();
  const id = newBackupId(now);
  const outcome = await backup(host, settings, coreLog, {
    id,
    reason: 'manual',
    now,
    toolVersion: TOOL_VERSION,
    onPending: (p: PendingCleanup | null) => core.saveState('pending', p ? JSON.stringify(p) : ''),
  });
  if (outcome.dryRun) {
    await core.summary.addRaw(planSummary('backup', outcome.plan)).write();
    return;
  }
  const { manifest } = outcome;
  const dir = workDir(manifest.id);
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  core.setOutput('backup-id', manifest.id);
  core.setOutput('manifest', manifestPath);
  const artifact = await upload(settings, `eqmd-backup-${manifest.id}`, dir, [manifestPath]);
  for (const u of outcome.unreadable) core.warning(`not a readable backup set (left alone): ${u}`);
  await core.summary.addRaw(backupSummary(manifest, outcome.setDir, outcome.pruned, artifact)).write();
  core.info(`backup ${manifest.id} complete and verified: ${outcome.setDir}`);
}

async function runList(settings: Settings, host: Parameters<typeof list>[0]): Promise<void> {
  const outcome = await list(host, settings, coreLog);
  const json = JSON.stringify(outcome.sets);
  core.setOutput('backups', json);
  const runName = settings.run.runId || newBackupId(new Date());
  const dir = workDir(`list-${runName}`);
  const path = join(dir, 'backups.json');
  writeFileSync(path, `${JSON.stringify(outcome.sets, null, 2)}\n`);
  const artifact = await upload(settings, `eqmd-list-${runName}`, dir, [path]);
  await core.summary
    .addRaw(listSummary(outcome.project, outcome.backupDir, outcome.sets, outcome.unreadable) + artifact)
    .write();
  core.info(`${outcome.sets.length} backup set(s) of ${outcome.project} in ${outcome.backupDir}`);
}
