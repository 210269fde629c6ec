import type { Check } from '../backup/check.js';
import { databaseResult } from '../backup/database-result.js';
import { buildManifest, filesCheck, parseChecksums, volumeResult } from '../backup/record.js';
import { finalizeStep } from '../backup/set-steps.js';
import type { Step } from '../backup/steps.js';
import { deferredLog, type Log } from '../log.js';
import type { Manifest, VolumeRecord } from '../manifest.js';
import { validateManifest } from '../manifest-read.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import type { BackupOptions } from './backup.js';
import type { BackupPlan } from './backup-plan.js';
import { runGroupedStep, runStep } from './run-step.js';

/**
 * Runs the plan's steps, checks what they report, and commits the set with its manifest only when
 * every check passed.
 */
export async function applyBackup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: BackupOptions,
  plan: BackupPlan,
): Promise<Manifest> {
  const step = (s: Step) => runGroupedStep(host, log, s);
  await step(plan.steps.prepare);
  const [, dbOut, ...volumeOut] = await sideBySide(host, log, [
    plan.steps.tag,
    plan.steps.database,
    ...plan.steps.volumes,
  ]);
  const volumes: VolumeRecord[] = [];
  const volumeChecks: Check[] = [];
  for (const [i, v] of plan.volumes.entries()) {
    const r = volumeResult(v.name, v.mountpoint, volumeOut[i] ?? '');
    volumes.push(r.record);
    volumeChecks.push(r.check);
  }
  const files = parseChecksums(await step(plan.steps.checksums));
  opts.onFilesWritten?.(plan);
  // Read after the checksum step: the SQLite copy is proven against the hash the manifest records.
  const db = databaseResult(plan.database, dbOut ?? null, files);
  const checks: Check[] = [...db.checks, ...volumeChecks];
  const expected = [
    'env',
    'compose.yml',
    ...(db.record.kind === 'none' ? [] : [db.record.file]),
    ...volumes.map((v) => v.file),
  ];
  checks.push(filesCheck(files, expected));
  const image = plan.facts.image ?? (await host.docker.inspectImage(plan.tag));
  const migrations = await opts.migrations;
  const manifest = buildManifest({
    id: opts.id,
    created: opts.now,
    reason: opts.reason,
    hostName: plan.facts.probe.hostname,
    address: host.description,
    project: plan.facts.project,
    projectDir: settings.app.projectDir,
    service: settings.app.service,
    flavor: plan.facts.compose.flavor,
    imageReference: plan.facts.container?.image ?? plan.facts.probe.imageVariable,
    image: image ?? { id: '', repoTags: [], repoDigests: [] },
    backupTag: plan.tag,
    imageVariable: settings.app.imageVariable,
    envValue: plan.facts.probe.imageVariable,
    files,
    database: db.record,
    volumes,
    checks,
    run: settings.run,
    toolVersion: opts.toolVersion,
    ...(opts.restoreTarget ? { restoreTarget: opts.restoreTarget } : {}),
    ...(opts.rollbackMode ? { rollbackMode: opts.rollbackMode } : {}),
    ...(migrations ? { migrations } : {}),
  });
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(
      `backup verification failed: ${failed.map((c) => `${c.check} (${c.detail})`).join('; ')}`,
    );
  }
  // The readers (list, rollback, retention) validate every manifest: a set they would refuse is
  // never committed as if it could be restored.
  const readable = validateManifest(manifest);
  if (!readable.ok)
    throw new Error(`backup ${opts.id}: its manifest would be refused by its readers: ${readable.problem}`);
  await step(finalizeStep(plan.paths, `${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}

/**
 * The image tag, the database copy and each volume archive write different files of the temporary set
 * from different sources: they run side by side, one SSH channel each, and their logs are said
 * afterwards in plan order. Every step is awaited before a failure is raised, so the caller's cleanup
 * of the set never races a step still writing into it.
 */
async function sideBySide(host: RemoteHost, log: Log, steps: (Step | null)[]): Promise<(string | null)[]> {
  const logs = steps.map(() => deferredLog());
  const settled = await Promise.allSettled(
    steps.map((s, i) =>
      s
        ? logs[i]!.log.group(s.title, async () => (await runStep(host, s, logs[i]!.log)).toString('utf8'))
        : Promise.resolve(null),
    ),
  );
  for (const l of logs) await l.replay(log);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r.status === 'fulfilled' ? r.value : null));
}
