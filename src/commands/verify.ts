import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { newBackupId } from '../backup/backup-id.js';
import { coreLog, secretValues, workDir } from '../edge/runner.js';
import { upload, type Outcome } from '../edge/upload.js';
import { failedChecks } from '../operations/verify.js';
import { gatherFacts } from '../operations/facts.js';
import { currentContainer } from '../operations/service.js';
import { verifyContainer } from '../operations/verify.js';
import type { RemoteHost } from '../remote-host.js';
import { verifyEvent } from '../report/event.js';
import { keepAppOutputOnRunner, reportForUpload } from '../report/publish.js';
import type { Settings } from '../settings.js';
import { verifySummary } from '../report/verify-summary.js';

/** `verify`: the checks of the running version, as outputs, an artifact and a summary. */
export async function runVerify(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const facts = await gatherFacts(host, settings, coreLog);
  const container = await currentContainer(host, facts.project, settings.app.service);
  if (!container)
    throw new Error(`service ${settings.app.service} of project ${facts.project} has no container`);
  const report = await core.group('Verify', () =>
    verifyContainer(host, container.id, settings.verify.health, settings.verify, coreLog),
  );
  core.setOutput('health', report.healthy ? 'healthy' : 'unhealthy');
  core.setOutput('result', report.healthy ? 'succeeded' : 'failed');
  core.setOutput('deployed-image', facts.probe.imageVariable);
  const dir = workDir(`verify-${settings.run.runId || newBackupId(new Date())}`);
  const path = join(dir, 'verify-report.json');
  writeFileSync(
    path,
    `${JSON.stringify({ image: facts.probe.imageVariable, ...reportForUpload(report) }, null, 2)}\n`,
  );
  // No set is made by verify: the app output stays on the runner only.
  const appOutput = keepAppOutputOnRunner(
    dir,
    [{ label: 'the verification', report }],
    null,
    settings.output,
    secretValues(),
  );
  const uploaded = await upload(settings, `eqmd-verify-${settings.run.runId || Date.now()}`, dir, [
    path,
    ...(appOutput?.uploads ?? []),
  ]);
  await core.summary
    .addRaw(verifySummary(facts.probe.imageVariable, report, appOutput?.ref ?? null) + uploaded.text)
    .write();
  if (!report.healthy) {
    core.setFailed(`verification failed: ${failedChecks(report)}`);
  }
  return {
    event: { ...verifyEvent(facts.probe.imageVariable, report), appOutput: appOutput?.ref ?? null },
    where: { artifact: uploaded.artifact, manifestPath: path },
  };
}
