import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { newBackupId } from '../backup/backup-id.js';
import { coreLog, workDir } from '../edge/runner.js';
import { upload } from '../edge/upload.js';
import { list } from '../operations/list.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { listSummary } from '../report/backup-summary.js';

/** `list`: the sets as an output, an artifact and a table. */
export async function runList(settings: Settings, host: RemoteHost): Promise<void> {
  const outcome = await list(host, settings, coreLog);
  const json = JSON.stringify(outcome.sets);
  core.setOutput('backups', json);
  core.setOutput('result', 'succeeded');
  const runName = settings.run.runId || newBackupId(new Date());
  const dir = workDir(`list-${runName}`);
  const path = join(dir, 'backups.json');
  writeFileSync(path, `${JSON.stringify(outcome.sets, null, 2)}\n`);
  const { text: artifact } = await upload(settings, `eqmd-list-${runName}`, dir, [path]);
  await core.summary
    .addRaw(listSummary(outcome.project, outcome.backupDir, outcome.sets, outcome.unreadable) + artifact)
    .write();
  core.info(`${outcome.sets.length} backup set(s) of ${outcome.project} in ${outcome.backupDir}`);
}
