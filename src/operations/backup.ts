import {
  backupTag,
  checksumStep,
  cleanupStep,
  finalizeStep,
  postgresServiceStep,
  postgresUrlStep,
  prepareStep,
  parseKeyValues,
  pruneStep,
  setPaths,
  sqliteStep,
  tagImageStep,
  volumeStep,
  type SetPaths,
  type VolumeToArchive,
} from '../backup/commands.js';
import { autoVolumes, decideDatabase, volumeCandidates, type DatabaseTarget } from '../backup/decide.js';
import {
  buildManifest,
  filesCheck,
  parseChecksums,
  postgresResult,
  sqliteResult,
  volumeResult,
  type Check,
  type DatabaseResult,
} from '../backup/record.js';
import type { Step } from '../backup/steps.js';
import { inProject } from '../compose.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import type { Manifest, ManifestReason, VolumeRecord } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { checkSetsStep } from '../restore/commands.js';
import { chooseSetsToPrune } from '../retention.js';
import type { Settings } from '../settings.js';
import { argv } from '../shell.js';
import { gatherFacts, type Facts } from './facts.js';
import { readSets } from './list.js';
import { formatPlan, runStep } from './run-step.js';

/** What a cancelled run must undo; the post step reads it back from the action's state. */
export interface PendingCleanup {
  paths: SetPaths;
  id: string;
  tag: string;
  appContainerId: string | null;
}

export interface BackupOptions {
  id: string;
  reason: ManifestReason;
  now: Date;
  toolVersion: string;
  /** Called with what to clean up before anything is written, and with null once the set is complete. */
  onPending?: (pending: PendingCleanup | null) => void;
  /**
   * The compose project of the operation this snapshot belongs to (a rollback's): recorded as is, even
   * if the service's containers, which compose's label names it by, are gone meanwhile.
   */
  project?: string;
  /** Recorded in the manifest of a pre-restore snapshot: the set about to be restored. */
  restoreTarget?: string;
  /**
   * The caller's own look at the host, when nothing has changed it since (a deploy's, before its
   * backup): the backup plans from it instead of probing again. Snapshots taken after a change never
   * pass it: they must describe the host as it is then.
   */
  facts?: Facts;
}

export type BackupOutcome =
  | { dryRun: true; plan: string }
  | { dryRun: false; manifest: Manifest; setDir: string; pruned: string[]; unreadable: string[] };

interface Plan {
  paths: SetPaths;
  tag: string;
  database: DatabaseTarget;
  volumes: VolumeToArchive[];
  steps: { prepare: Step; tag: Step; database: Step | null; volumes: Step[]; checksums: Step };
  facts: Facts;
}

export async function backup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: BackupOptions,
): Promise<BackupOutcome> {
  const plan = await log.group('Inspect the host and plan the backup', () =>
    planBackup(host, settings, log, opts),
  );
  const all = [
    plan.steps.prepare,
    plan.steps.tag,
    ...(plan.steps.database ? [plan.steps.database] : []),
    ...plan.steps.volumes,
    plan.steps.checksums,
  ];
  if (settings.output.dryRun) {
    const text = formatPlan([...all, finalizeStep(plan.paths, '<manifest.json>')]);
    log.info(`Dry run: nothing was changed on the host. The backup would run:\n${text}`);
    return { dryRun: true, plan: text };
  }

  const pending: PendingCleanup = {
    paths: plan.paths,
    id: opts.id,
    tag: plan.tag,
    appContainerId: plan.facts.container?.id ?? null,
  };
  opts.onPending?.(pending);
  let manifest: Manifest;
  try {
    manifest = await applyBackup(host, settings, log, opts, plan);
  } catch (err) {
    const cleaned = await log.group('Clean up the failed backup', async () => {
      try {
        await runStep(host, cleanupStep(plan.paths, opts.id, plan.tag, pending.appContainerId), log);
        return true;
      } catch (cleanupErr) {
        log.warning(`cleanup after the failed backup did not finish: ${(cleanupErr as Error).message}`);
        return false;
      }
    });
    // Still pending if the cleanup could not run (a lost connection): the post step retries it.
    if (cleaned) opts.onPending?.(null);
    throw err;
  }
  opts.onPending?.(null);

  const { pruned, unreadable } = await log.group('Apply retention', () =>
    applyRetention(host, settings, log, plan.facts, manifest),
  );
  return { dryRun: false, manifest, setDir: plan.paths.final, pruned, unreadable };
}

async function planBackup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  { id, project, facts: unchanged }: Pick<BackupOptions, 'id' | 'project' | 'facts'>,
): Promise<Plan> {
  // Looked at afresh unless the caller's look is still true: a snapshot taken in the middle of a
  // deploy or rollback must record the env file and the image as they are now, not as the operation
  // found them (a failed deploy's snapshot once recorded the previous image's id under the new
  // version's reference). The project stays the operation's.
  const fresh = unchanged ?? (await gatherFacts(host, settings, log));
  const facts: Facts = project ? { ...fresh, project, compose: { ...fresh.compose, project } } : fresh;
  const { app, backup: b } = settings;
  const { container } = facts;
  const image =
    facts.image ??
    (facts.probe.imageVariable ? await host.docker.inspectImage(facts.probe.imageVariable) : null);
  if (!image) {
    throw new RefusedError(
      `cannot tell which image to keep: service ${app.service} has no container and ${app.imageVariable}=` +
        `${facts.probe.imageVariable || '(unset)'} is not an image on the host`,
    );
  }

  const wantsPostgresService = (b.database === 'auto' || b.database === 'postgres') && !b.databaseUrl;
  const pgContainers = wantsPostgresService
    ? await host.docker.serviceContainers(facts.project, b.postgresService)
    : [];
  const postgres = pgContainers.find((c) => c.running) ?? null;
  let sqliteExists = false;
  if ((b.database === 'sqlite' || (b.database === 'auto' && !postgres && !b.databaseUrl)) && container) {
    const test = container.running
      ? argv('docker', 'exec', container.id, 'test', '-f', b.sqlitePath)
      : argv(
          'docker',
          'run',
          '--rm',
          '--network',
          'none',
          '--volumes-from',
          container.id,
          '--entrypoint',
          'test',
          image.id,
          '-f',
          b.sqlitePath,
        );
    sqliteExists = (await host.exec(test)).code === 0;
  }
  const decision = decideDatabase(b, container, postgres, sqliteExists);
  if (!decision.ok) throw new RefusedError(decision.why);
  const database = decision.target;

  const volumes = await chooseVolumes(host, settings, facts, database);
  const paths = setPaths(facts.backupDir, id);
  const tag = backupTag(facts.project, id);
  log.info(
    `database: ${database.kind === 'none' ? 'none' : `${database.kind} (${'via' in database ? database.via : 'app container'})`}; ` +
      `volumes: ${volumes.map((v) => v.name).join(', ') || 'none'}; set: ${paths.final}`,
  );
  return {
    paths,
    tag,
    database,
    volumes,
    facts,
    steps: {
      prepare: prepareStep(
        paths,
        inProject(app.projectDir, app.envFile),
        inProject(app.projectDir, app.composeFile),
        app.projectDir,
      ),
      tag: tagImageStep(image.id, tag),
      database:
        database.kind === 'sqlite'
          ? sqliteStep(
              paths,
              { containerId: database.containerId, running: database.running, image: image.id },
              database.path,
              { id, projectDir: app.projectDir },
            )
          : database.kind === 'postgres'
            ? database.via === 'database-url'
              ? postgresUrlStep(paths, database.url)
              : postgresServiceStep(paths, database.containerId)
            : null,
      volumes: volumes.map((v) => volumeStep(paths, v, image.id, { id, projectDir: app.projectDir })),
      checksums: checksumStep(paths),
    },
  };
}

async function chooseVolumes(
  host: RemoteHost,
  settings: Settings,
  facts: Facts,
  database: DatabaseTarget,
): Promise<VolumeToArchive[]> {
  const mounts = facts.container?.mounts ?? [];
  if (settings.backup.volumes === 'auto') {
    if (!facts.container) {
      throw new RefusedError(
        `volumes: auto needs the service's container to see its mounts; name the volumes instead`,
      );
    }
    return autoVolumes(mounts, database.kind === 'sqlite' ? database.path : null).map((m) => ({
      name: m.name,
      mountpoint: m.destination,
    }));
  }
  const chosen: VolumeToArchive[] = [];
  for (const wanted of settings.backup.volumes) {
    let found = '';
    for (const candidate of volumeCandidates(facts.project, wanted)) {
      if (await host.docker.volumeExists(candidate)) {
        found = candidate;
        break;
      }
    }
    if (!found)
      throw new RefusedError(
        `volume '${wanted}' (volumes input) does not exist as ${volumeCandidates(facts.project, wanted).join(' or ')}`,
      );
    chosen.push({ name: found, mountpoint: mounts.find((m) => m.name === found)?.destination ?? '' });
  }
  return chosen;
}

async function applyBackup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: BackupOptions,
  plan: Plan,
): Promise<Manifest> {
  const step = (s: Step): Promise<string> =>
    log.group(s.title, async () => (await runStep(host, s, log)).toString('utf8'));
  await step(plan.steps.prepare);
  await step(plan.steps.tag);

  let db: DatabaseResult = { record: { kind: 'none' }, checks: [] };
  const { database } = plan;
  if (plan.steps.database && database.kind !== 'none') {
    const out = await step(plan.steps.database);
    db = database.kind === 'sqlite' ? sqliteResult(database, out) : postgresResult(database, out);
  }
  const volumes: VolumeRecord[] = [];
  const checks: Check[] = [...db.checks];
  for (const [i, v] of plan.volumes.entries()) {
    const r = volumeResult(v.name, v.mountpoint, await step(plan.steps.volumes[i]!));
    volumes.push(r.record);
    checks.push(r.check);
  }
  const files = parseChecksums(await step(plan.steps.checksums));
  const expected = [
    'env',
    'compose.yml',
    ...(db.record.kind === 'none' ? [] : [db.record.file]),
    ...volumes.map((v) => v.file),
  ];
  checks.push(filesCheck(files, expected));
  const image = plan.facts.image ?? (await host.docker.inspectImage(plan.tag));
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
  });
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(
      `backup verification failed: ${failed.map((c) => `${c.check} (${c.detail})`).join('; ')}`,
    );
  }
  await step(finalizeStep(plan.paths, `${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}

/** Prunes only after the new set verified, and only this project's sets. */
async function applyRetention(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  facts: Facts,
  made: Manifest,
): Promise<{ pruned: string[]; unreadable: string[] }> {
  if (settings.backup.keep === 0) return { pruned: [], unreadable: [] };
  const { sets, unreadable } = await readSets(
    host,
    facts.backupDir,
    facts.project,
    settings.app.service,
    log,
  );
  const ctx = {
    justMade: made.id,
    now: new Date(made.created),
    runningImageId: facts.container?.running ? facts.container.imageId : '',
  };
  let prune = chooseSetsToPrune(sets, settings.backup.keep, ctx);
  if (prune.length) {
    // About to delete: first make sure the sets that stay are intact. A corrupted one does not count
    // as a backup (and is left for an operator to look at, never pruned silently).
    const others = sets.filter((m) => m.verified && m.id !== made.id);
    const out = await runStep(host, checkSetsStep(facts.backupDir, others), log);
    const bad = new Set(
      parseKeyValues(out.toString())
        .filter((x) => x.key === 'bad')
        .map((x) => x.value),
    );
    for (const id of bad) {
      log.warning(`backup set ${id} fails its checksums: not counted as a backup, not pruned; inspect it`);
      unreadable.push(`${id}: fails its checksums`);
    }
    prune = chooseSetsToPrune(
      sets.map((m) => (bad.has(m.id) ? { ...m, verified: false } : m)),
      settings.backup.keep,
      ctx,
    );
  }
  if (prune.length) {
    const out = await runStep(
      host,
      pruneStep(
        facts.backupDir,
        prune.map((m) => ({ id: m.id, tag: m.image.backupTag })),
      ),
      log,
    );
    for (const line of out.toString().split('\n'))
      if (line.startsWith('warning=')) log.warning(line.slice(8));
  }
  log.info(
    `retention: keep ${settings.backup.keep || 'all'}; ${sets.length - prune.length} kept, ${prune.length} pruned`,
  );
  return { pruned: prune.map((m) => m.id), unreadable };
}
