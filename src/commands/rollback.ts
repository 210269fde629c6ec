import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { CHANGE_OPTIONS, coreLog, secretValues, workDir } from '../edge/runner.js';
import { upload, writeIncident, type Outcome } from '../edge/upload.js';
import { rollback } from '../operations/rollback.js';
import type { RemoteHost } from '../remote-host.js';
import { rollbackEvent } from '../report/event.js';
import { partsAccount } from '../restore/outcome.js';
import { keepAppOutputOnRunner, manifestForUpload, reportForUpload } from '../report/publish.js';
import type { Settings } from '../settings.js';
import { planSummary } from '../report/run-summary.js';
import { rollbackSummary, rollbackView } from '../report/rollback-summary.js';

/** `rollback`: outputs, the artifact (snapshot manifest, report, incident note), the summary. */
export async function runRollback(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const outcome = await rollback(host, settings, coreLog, CHANGE_OPTIONS);
  if (outcome.dryRun) {
    core.setOutput('result', 'planned');
    await core.summary.addRaw(planSummary('rollback', outcome.plan)).write();
    return;
  }
  const r = outcome;
  const dir = workDir(`rollback-${r.snapshot?.manifest.id ?? settings.run.runId ?? Date.now()}`);
  const files: string[] = [];
  if (r.snapshot) {
    files.push(join(dir, 'manifest.json'));
    writeFileSync(
      files[0]!,
      `${JSON.stringify(manifestForUpload(r.snapshot.manifest, settings.output), null, 2)}\n`,
    );
    core.setOutput('backup-id', r.snapshot.manifest.id);
    core.setOutput('manifest', files[0]!);
  }
  const reportPath = join(dir, 'rollback-report.json');
  const { snapshot, verify, ...rest } = r;
  writeFileSync(
    reportPath,
    `${JSON.stringify({ ...rest, ...partsAccount(r.parts, r.notes), verify: reportForUpload(verify), snapshot: snapshot?.manifest.id ?? null }, null, 2)}\n`,
  );
  files.push(reportPath);
  const appOutput = keepAppOutputOnRunner(
    dir,
    [{ label: `the verification after the rollback to ${r.target}`, report: r.verify }],
    r.appOutputOnHost,
    settings.output,
    secretValues(),
  );
  files.push(...(appOutput?.uploads ?? []));
  core.setOutput('previous-image', r.previousImage);
  core.setOutput('deployed-image', r.deployedImage);
  core.setOutput('rolled-back', String(r.rolledBack));
  core.setOutput('health', r.healthy ? 'healthy' : 'unhealthy');
  const artifactName = `eqmd-rollback-${r.snapshot?.manifest.id ?? settings.run.runId ?? Date.now()}`;
  const event = { ...rollbackEvent(r), appOutput: appOutput?.ref ?? null };
  writeIncident(settings, event, dir, artifactName, files);
  const uploaded = await upload(settings, artifactName, dir, files);
  await core.summary.addRaw(rollbackSummary(rollbackView(r), uploaded.text, appOutput?.ref ?? null)).write();
  core.setOutput('result', r.failure ? 'failed' : 'succeeded');
  if (r.failure) core.setFailed(`rollback to ${r.target} incomplete: ${r.failure}`);
  else core.info(`rolled back to ${r.target}: ${r.deployedImage} healthy`);
  return { event, where: { artifact: uploaded.artifact, manifestPath: files[0]! } };
}
