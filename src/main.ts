import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { uploadFiles } from './artifact.js';
import { newBackupId } from './backup/record.js';
import { commandSafe, type Log } from './log.js';
import { backup, type PendingCleanup } from './operations/backup.js';
import { deploy, failedChecks, type DeployOptions } from './operations/deploy.js';
import { gatherFacts } from './operations/facts.js';
import { list } from './operations/list.js';
import { rollback } from './operations/rollback.js';
import type { StoppedService } from './operations/rollback-to-set.js';
import { acquireLock, type LockHandle } from './operations/lock.js';
import { lockDir } from './lock/commands.js';
import { currentContainer } from './operations/service.js';
import { verifyContainer } from './operations/verify.js';
import type { RemoteHost } from './remote-host.js';
import { envInput, parseSettings, SECRET_INPUTS, type Settings } from './settings.js';
import { openHost } from './ssh/open.js';
import { deployEvent, rollbackEvent, rolledBack, verifyEvent, type RunEvent } from './report/event.js';
import { incidentNote } from './report/incident.js';
import { runUrl } from './report/deployment-plan.js';
import { startReporting, type ArtifactRef, type Reporting, type Where } from './report/reporter.js';
import { keepAppOutputOnRunner, manifestForUpload, reportForUpload } from './report/publish.js';
import {
  backupSummary,
  deploySummary,
  listSummary,
  planSummary,
  rollbackSummary,
  verifySummary,
} from './summary.js';
import { TOOL_VERSION } from './version.js';

/** Commands that change the host take the project's lock. */
const MUTATING: readonly string[] = ['backup', 'deploy', 'rollback'];

export const coreLog: Log = {
  info: (m) => core.info(commandSafe(m)),
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

/** The values of the secret inputs (a database URL's password too), to mask them in published app output. */
function secretValues(): string[] {
  return SECRET_INPUTS.flatMap((name) => {
    const value = core.getInput(name);
    const urlPassword = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]+)@/.exec(value)?.[1];
    return [value, ...(urlPassword ? [decodeURIComponent(urlPassword)] : [])];
  }).filter(Boolean);
}

export function readSettings(): Settings {
  maskSecrets();
  return parseSettings(envInput(process.env), process.env);
}

const savePending = (p: PendingCleanup | null): void => core.saveState('pending', p ? JSON.stringify(p) : '');
/** What the post step needs to start a service an interrupted rollback stopped (see resume.ts). */
const saveStopped = (s: StoppedService | null): void => core.saveState('stopped', s ? JSON.stringify(s) : '');

/** Deploy and rollback: new set ids from the clock, and what the post step needs if they are cut off. */
const CHANGE_OPTIONS: DeployOptions = {
  newId: () => newBackupId(new Date()),
  now: () => new Date(),
  toolVersion: TOOL_VERSION,
  onPending: savePending,
  onStopped: saveStopped,
};

function workDir(name: string): string {
  const dir = join(process.env.RUNNER_TEMP || tmpdir(), 'eqmd-rollback', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** What a deploy, rollback or verification leaves to report once the host is released. */
type Outcome = { event: RunEvent; where: Where } | undefined;

interface Uploaded {
  /** A sentence for the step summary. */
  text: string;
  artifact: ArtifactRef | null;
}

async function upload(
  settings: Settings,
  defaultName: string,
  dir: string,
  files: string[],
): Promise<Uploaded> {
  if (!settings.output.uploadArtifact)
    return { text: 'Artifact upload is off (upload-artifact: false).', artifact: null };
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
    return { text: `Manifest uploaded as artifact **${name}**.`, artifact: { name, id: result.id } };
  }
  // The backup itself succeeded; a missing upload must be visible but must not undo that.
  core.warning(`artifact not uploaded: ${result.reason}`);
  return { text: `Artifact not uploaded: ${result.reason}.`, artifact: null };
}

/** When a rollback happened, the incident note goes into the artifact beside the manifest. */
function writeIncident(
  settings: Settings,
  e: RunEvent,
  dir: string,
  artifactName: string,
  files: string[],
): void {
  if (!rolledBack(e)) return;
  const path = join(dir, 'incident.md');
  writeFileSync(
    path,
    incidentNote(e, {
      at: new Date().toISOString(),
      runUrl: runUrl(settings.run),
      actor: settings.run.actor,
      repository: settings.run.repository,
      environment: settings.report.environment,
      projectDir: settings.app.projectDir,
      artifactName: settings.output.artifactName || artifactName,
    }),
  );
  files.push(path);
  core.info(`incident note written: ${path}`);
}

export async function run(): Promise<void> {
  core.saveState('isPost', 'true');
  let reporting: Reporting | null = null;
  try {
    const settings = readSettings();
    reporting = startReporting(settings, coreLog);
    const { host, handshakes } = await openHost(settings.connection, coreLog);
    core.debug(`SSH handshakes: ${handshakes}`);
    let lock: LockHandle | null = null;
    let outcome: Outcome;
    try {
      if (MUTATING.includes(settings.command) && !settings.output.dryRun) {
        const token = `${settings.run.runId || 'local'}-${randomBytes(8).toString('hex')}`;
        // Saved first: if this step is killed while holding the lock, the post step releases it.
        core.saveState('lock', JSON.stringify({ dir: lockDir(settings.app.projectDir), token }));
        lock = await acquireLock(host, settings, coreLog, token);
      }
      if (settings.command === 'backup') await runBackup(settings, host);
      else if (settings.command === 'list') await runList(settings, host);
      else if (settings.command === 'deploy') outcome = await runDeploy(settings, host);
      else if (settings.command === 'rollback') outcome = await runRollback(settings, host);
      else outcome = await runVerify(settings, host);
    } finally {
      if (lock) {
        await lock.release().then(
          () => core.saveState('lock', ''),
          (err: Error) => core.warning(`could not release the host lock ${lock?.dir}: ${err.message}`),
        );
      }
      await host.close();
    }
    // After the lock is released: a slow webhook must not keep the next run waiting for the host.
    if (outcome) await reporting.finish(outcome.event, outcome.where);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await reporting?.error(message);
    core.setFailed(message);
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
    onPending: savePending,
  });
  if (outcome.dryRun) {
    await core.summary.addRaw(planSummary('backup', outcome.plan)).write();
    return;
  }
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

async function runList(settings: Settings, host: Parameters<typeof list>[0]): Promise<void> {
  const outcome = await list(host, settings, coreLog);
  const json = JSON.stringify(outcome.sets);
  core.setOutput('backups', json);
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

async function runDeploy(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const outcome = await deploy(host, settings, coreLog, CHANGE_OPTIONS);
  if (outcome.dryRun) {
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
    verify: reportForUpload(d.verify),
    rollbackVerify: reportForUpload(d.rollbackVerify),
    restored: d.restored,
    notes: d.notes,
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
  const view = {
    ...d,
    preDeploy: { id: d.preDeploy.manifest.id, dir: d.preDeploy.dir },
    failedState: d.failedState ? { id: d.failedState.manifest.id, dir: d.failedState.dir } : null,
  };
  await core.summary.addRaw(deploySummary(view, uploaded.text, appOutput?.ref ?? null)).write();
  const result = { event, where: { artifact: uploaded.artifact, manifestPath: files[0]! } };
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

async function runVerify(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const facts = await gatherFacts(host, settings, coreLog);
  const container = await currentContainer(host, facts.project, settings.app.service);
  if (!container)
    throw new Error(`service ${settings.app.service} of project ${facts.project} has no container`);
  const report = await core.group('Verify', () =>
    verifyContainer(host, container.id, settings.verify.health, settings.verify, coreLog),
  );
  core.setOutput('health', report.healthy ? 'healthy' : 'unhealthy');
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

async function runRollback(settings: Settings, host: RemoteHost): Promise<Outcome> {
  const outcome = await rollback(host, settings, coreLog, CHANGE_OPTIONS);
  if (outcome.dryRun) {
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
    `${JSON.stringify({ ...rest, verify: reportForUpload(verify), snapshot: snapshot?.manifest.id ?? null }, null, 2)}\n`,
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
  const view = { ...r, snapshot: r.snapshot ? { id: r.snapshot.manifest.id, dir: r.snapshot.dir } : null };
  await core.summary.addRaw(rollbackSummary(view, uploaded.text, appOutput?.ref ?? null)).write();
  if (r.failure) core.setFailed(`rollback to ${r.target} incomplete: ${r.failure}`);
  else core.info(`rolled back to ${r.target}: ${r.deployedImage} healthy`);
  return { event, where: { artifact: uploaded.artifact, manifestPath: files[0]! } };
}
