import type { Step } from '../backup/steps.js';
import { inProject, type ComposeTarget } from '../compose.js';
import { restoreEnvStep, retagStep, setImageVariableStep, upStep } from '../deploy/commands.js';
import { restoredImage } from '../deploy/decide.js';
import type { Manifest, ManifestFile, ManifestReason } from '../manifest.js';
import type { AppSettings, DeploySettings } from '../settings.js';
import { verifySetStep } from './checksums.js';
import { volumeRestoreStep } from './volume.js';
import { planMigrateBack, type MigrateBackPlan } from './migrate-back-plan.js';

export interface SetOnHost {
  manifest: Manifest;
  dir: string;
}

/** What a rollback puts back. */
export interface RestoreParts {
  /** The env file and the image (retagged from its backup tag). */
  app: boolean;
  /** 'per-setting': as restore-database says (auto = when the schema moved). */
  database: 'per-setting' | 'always' | 'no';
  /** Volumes of the set to restore (Docker names). */
  volumes: string[];
}

export type { MigrateBackPlan } from './migrate-back-plan.js';

export const APP_PARTS: RestoreParts = { app: true, database: 'per-setting', volumes: [] };

/**
 * Putting a set back, decided before anything is touched: every remote step with its exact command,
 * in the order it runs. The one decision left to the moment is the database under `auto`: whether the
 * schema moved is known only from the snapshot taken after the service stops.
 */
export interface RestorePlan {
  target: SetOnHost;
  parts: RestoreParts;
  /** The id of the snapshot of what is overwritten; the replaced database and volumes are kept under it. */
  snapshotId: string;
  snapshotReason: ManifestReason;
  /** Checksums of every file the restore reads; a mismatch refuses before anything changes. */
  check: Step;
  env: Step | null;
  /** The saved env file names an image other than the one that ran: it is made to name what ran. */
  pointEnv: { step: Step; why: string } | null;
  /** null: the database is not part of this restore. */
  database: { mode: DeploySettings['restoreDatabase'] } | null;
  /**
   * When the set records that the release after it made only changes Django undoes without losing a
   * record (compatible, breaks-old-writes, renames): migrating them back with that release's image, and the check that Django's
   * state is the set's again. Run only if the decision at the moment says so.
   */
  migrateBack: MigrateBackPlan | null;
  /** After a restore decided by plan (auto), carry the writes made since the set over. */
  carryOver: boolean;
  volumes: { name: string; entries: number; step: Step }[];
  retag: Step | null;
  up: Step;
  /** What the env file names when the plan has run. */
  image: string;
}

/** The files of a set that a restore of these parts reads: all are checksummed before anything changes. */
export function filesFor(m: Manifest, parts: RestoreParts): ManifestFile[] {
  const wanted = new Set<string>([
    ...(parts.app ? ['env'] : []),
    ...(parts.database !== 'no' && m.database.kind !== 'none' ? [m.database.file] : []),
    ...m.volumes.filter((v) => parts.volumes.includes(v.name)).map((v) => v.file),
  ]);
  return m.files.filter((f) => wanted.has(f.path));
}

/** Pure: the plan of putting `target` back, from the settings, the compose target and the set's manifest. */
export function planRestore(x: {
  app: Pick<AppSettings, 'projectDir' | 'envFile' | 'imageVariable' | 'service'>;
  restoreDatabase: DeploySettings['restoreDatabase'];
  compose: ComposeTarget;
  target: SetOnHost;
  parts: RestoreParts;
  snapshotId: string;
  snapshotReason: ManifestReason;
  /** What the env file names now: still so at the end when the app is not put back. */
  currentImage: string;
  /** The release rolled back from (its image can undo its migrations); '' when unknown. */
  fromImage: string;
  /** How the operator knows `fromImage`, when it is a tag of the action's (the snapshot's). */
  fromImageName?: string;
  carryOver: DeploySettings['carryOver'];
}): RestorePlan {
  const { app, target, parts } = x;
  const m = target.manifest;
  const envPath = inProject(app.projectDir, app.envFile);
  const runAs = restoredImage(m.image);
  const variable = m.image.variable || app.imageVariable;
  return {
    target,
    parts,
    snapshotId: x.snapshotId,
    snapshotReason: x.snapshotReason,
    check: verifySetStep(target.dir, filesFor(m, parts)),
    env: parts.app ? restoreEnvStep(`${target.dir}/env`, envPath) : null,
    pointEnv:
      parts.app && runAs.rewriteEnv
        ? { step: setImageVariableStep(envPath, variable, runAs.reference), why: runAs.why }
        : null,
    database:
      parts.database === 'no' ? null : { mode: parts.database === 'always' ? 'always' : x.restoreDatabase },
    migrateBack:
      parts.database === 'no'
        ? null
        : planMigrateBack(x.compose, app.service, variable, m, x.fromImage, x.fromImageName),
    // Only a restore decided by plan: a restore asked for (scope database/full, always) is a point in time.
    carryOver:
      x.carryOver === 'auto' &&
      parts.database === 'per-setting' &&
      x.restoreDatabase === 'auto' &&
      m.database.kind !== 'none',
    volumes: parts.volumes.flatMap((name) => {
      const v = m.volumes.find((y) => y.name === name);
      if (!v) return [];
      const step = volumeRestoreStep({
        id: x.snapshotId,
        projectDir: app.projectDir,
        volume: name,
        archive: `${target.dir}/${v.file}`,
        image: m.image.backupTag,
        entries: v.entries,
      });
      return [{ name, entries: v.entries, step }];
    }),
    retag: parts.app ? retagStep(m.image.backupTag, runAs.reference) : null,
    up: upStep(x.compose, app.service),
    image: parts.app ? runAs.reference : x.currentImage,
  };
}

/**
 * The app part of putting back a set not made yet (the deploy's dry run prints the recovery before its
 * backup exists): the same steps as `planRestore`, with the env file's checksum named, not known.
 */
export function appRestoreSteps(x: {
  setDir: string;
  envPath: string;
  backupTag: string;
  reference: string;
  compose: ComposeTarget;
  service: string;
}) {
  return {
    verifySet: verifySetStep(x.setDir, [
      { path: 'env', role: 'env-file', bytes: 0, sha256: '<sha256 of env from the manifest>' },
    ]),
    env: restoreEnvStep(`${x.setDir}/env`, x.envPath),
    retag: retagStep(x.backupTag, x.reference),
    up: upStep(x.compose, x.service),
  };
}
