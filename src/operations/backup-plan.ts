import { autoVolumes, decideDatabase, volumeCandidates, type DatabaseTarget } from '../backup/decide.js';
import { backupTag, setPaths, type SetPaths } from '../backup/set-paths.js';
import { checksumStep, prepareStep, tagImageStep } from '../backup/set-steps.js';
import { postgresServiceStep, postgresUrlStep } from '../backup/postgres-steps.js';
import { sqliteStep } from '../backup/sqlite-step.js';
import type { Step } from '../backup/steps.js';
import { volumeStep, type VolumeToArchive } from '../backup/volume-step.js';
import { inProject } from '../compose.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import type { BackupOptions } from './backup.js';
import { gatherFacts, type Facts } from './facts.js';

/** What the backup will do, decided from one look at the host; the dry run prints its steps. */
export interface BackupPlan {
  paths: SetPaths;
  tag: string;
  database: DatabaseTarget;
  volumes: VolumeToArchive[];
  steps: { prepare: Step; tag: Step; database: Step | null; volumes: Step[]; checksums: Step };
  facts: Facts;
}

export async function planBackup(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  {
    id,
    project,
    facts: unchanged,
    keepHelper,
  }: Pick<BackupOptions, 'id' | 'project' | 'facts' | 'keepHelper'>,
): Promise<BackupPlan> {
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
  const mayBeSqlite = (b.database === 'sqlite' || (b.database === 'auto' && !b.databaseUrl)) && container;
  // Both looks at once: the SQLite one is an archive stat of the container, running or not.
  const [pgContainers, sqliteFound] = await Promise.all([
    wantsPostgresService ? host.docker.serviceContainers(facts.project, b.postgresService) : [],
    mayBeSqlite ? host.docker.fileExists(container.id, b.sqlitePath) : false,
  ]);
  const postgres = pgContainers.find((c) => c.running) ?? null;
  const sqliteExists = sqliteFound && (b.database === 'sqlite' || !postgres);
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
              keepHelper,
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
