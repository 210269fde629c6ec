import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { newBackupId } from '../backup/backup-id.js';
import { coreLog, runnerState, workDir } from '../edge/runner.js';
import { upload } from '../edge/upload.js';
import { backup } from '../operations/backup.js';
import type { RemoteHost } from '../remote-host.js';
import { manifestForUpload } from '../report/publish.js';
import type { Settings } from '../settings.js';
import { backupSummary } from '../report/backup-summary.js';
import { planSummary } from '../report/run-summary.js';
import { TOOL_VERSION } from '../version.js';

/** `backup`: the set, its outputs, the manifest artifact and the summary. */
export async function runBackup(settings: Settings, host: RemoteHost): Promise<void> {
  const now = new Date();
  const id = newBackupId(now);
  const outcome = await backup(host, settings, coreLog, {
    id,
    reason: 'manual',
    now,
    toolVersion: TOOL_VERSION,
    onPending: runnerState.savePending,
  });
  if (outcome.dryRun) {
    core.setOutput('result', 'planned');
    await core.summary.addRaw(planSummary('backup', outcome.plan)).write();
    return;
  }
  core.setOutput('result', 'succeeded');
  const { manifest } = outcome;
  const dir = workDir(manifest.id);
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, `${JSON.stringify(manifestForUpload(manifest, settings.output), null, 2)}\n`);
  core.setOutput('backup-id', manifest.id);
  core.setOutput('manifest', manifestPath);
  const { text: artifact } = await upload(settings, `eqmd-backup-${manifest.id}`, dir, [manifestPath]);
  for (const u of outcome.unreadable) core.warning(`not a readable backup set (left alone): ${u}`);
  await core.summary
    .addRaw(
      backupSummary(manifestForUpload(manifest, settings.output), outcome.setDir, outcome.pruned, artifact),
    )
    .write();
  core.info(`backup ${manifest.id} complete and verified: ${outcome.setDir}`);
}
