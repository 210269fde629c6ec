import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { CHANGE_OPTIONS, coreLog, secretValues, workDir } from '../edge/runner.js';
import { upload, writeIncident, type Outcome } from '../edge/upload.js';
import { deploy } from '../operations/deploy.js';
import type { RemoteHost } from '../remote-host.js';
import { deployEvent } from '../report/event.js';
import { partsAccount } from '../restore/outcome.js';
import { keepAppOutputOnRunner, manifestForUpload, reportForUpload } from '../report/publish.js';
import type { Settings } from '../settings.js';
import { deploySummary, deployView } from '../report/deploy-summary.js';
import { planSummary } from '../report/run-summary.js';

/** `deploy`: outputs, the artifact (manifests, report, incident note), the summary, the step's status. */
export async function runDeploy(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const outcome = await deploy(host, settings, coreLog, CHANGE_OPTIONS);
  if (outcome.dryRun) {
    core.setOutput('result', 'planned');
    await core.summary.addRaw(planSummary('deploy', outcome.plan)).write();
    return;
  }
  const d = outcome;
  const dir = workDir(`deploy-${d.preDeploy.manifest.id}`);
  const files = [join(dir, 'manifest.json')];
  writeFileSync(
    files[0]!,
    `${JSON.stringify(manifestForUpload(d.preDeploy.manifest, settings.output), null, 2)}\n`,
  );
  if (d.failedState) {
    files.push(join(dir, 'failed-state-manifest.json'));
    writeFileSync(
      files[1]!,
      `${JSON.stringify(manifestForUpload(d.failedState.manifest, settings.output), null, 2)}\n`,
    );
  }
  const appOutput = keepAppOutputOnRunner(
    dir,
    [
      { label: `the verification of ${settings.deploy.version}`, report: d.verify },
      { label: 'the verification after the rollback', report: d.rollbackVerify },
    ],
    d.appOutputOnHost,
    settings.output,
    secretValues(),
  );
  files.push(...(appOutput?.uploads ?? []));
  const report = {
    ok: d.ok,
    strategy: d.strategy,
    previousImage: d.previousImage,
    deployedImage: d.deployedImage,
    rolledBack: d.rolledBack,
    healthy: d.healthy,
    preDeploy: d.preDeploy.manifest.id,
    failedState: d.failedState?.manifest.id ?? null,
    failure: d.failure,
    migrations: d.migrations,
    verify: reportForUpload(d.verify),
    rollbackVerify: reportForUpload(d.rollbackVerify),
    parts: d.parts,
    ...partsAccount(d.parts, d.notes),
    timings: d.timings,
  };
  files.push(join(dir, 'deploy-report.json'));
  writeFileSync(files.at(-1)!, `${JSON.stringify(report, null, 2)}\n`);
  core.setOutput('backup-id', d.preDeploy.manifest.id);
  core.setOutput('manifest', files[0]!);
  core.setOutput('previous-image', d.previousImage);
  core.setOutput('deployed-image', d.deployedImage);
  core.setOutput('rolled-back', String(d.rolledBack));
  core.setOutput('health', d.healthy ? 'healthy' : 'unhealthy');
  const artifactName = `eqmd-deploy-${d.preDeploy.manifest.id}`;
  const event = { ...deployEvent(d, settings.deploy.version), appOutput: appOutput?.ref ?? null };
  writeIncident(settings, event, dir, artifactName, files);
  const uploaded = await upload(settings, artifactName, dir, files);
  await core.summary.addRaw(deploySummary(deployView(d), uploaded.text, appOutput?.ref ?? null)).write();
  const result = { event, where: { artifact: uploaded.artifact, manifestPath: files[0]! } };
  core.setOutput('result', d.ok ? 'succeeded' : d.rolledBack ? 'rolled-back' : 'failed');
  if (d.ok) {
    core.info(`deployed ${d.deployedImage} (previous ${d.previousImage}); backup ${d.preDeploy.manifest.id}`);
    return result;
  }
  const state = d.rolledBack
    ? `rolled back to ${d.deployedImage} (${d.healthy ? 'healthy' : 'NOT healthy'})`
    : d.healthy
      ? `production unchanged on ${d.previousImage}`
      : `left on ${d.deployedImage} (no rollback)`;
  core.setFailed(`deploy of ${settings.deploy.version} failed: ${d.failure}. ${state}.`);
  return result;
}
