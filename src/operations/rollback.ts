import { restoredImage } from '../deploy/decide.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import { emergencyTarget } from '../emergency-target.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { deploy, type DeployOptions } from './deploy.js';
import { gatherFacts } from './facts.js';
import { readSets } from './list.js';
import { unfinishedRestoreTarget } from '../rerun.js';
import {
  APP_PARTS,
  appRestoreSteps,
  filesFor,
  rollbackToSet,
  type RestoreParts,
  type SetOnHost,
} from './rollback-to-set.js';
import { backup } from './backup.js';
import type { Facts } from './facts.js';
import { formatPlan } from './run-step.js';
import { healthUrlText } from './verify.js';
import { inProject } from '../compose.js';
import { verifySetStep, volumeRestoreStep } from '../restore/commands.js';
import type { VerifyReport } from './verify.js';
import { keepAppOutput } from './app-output.js';

export interface RollbackDone {
  dryRun: false;
  mode: 'emergency' | 'version' | 'backup-set';
  /** The set or version rolled back to. */
  target: string;
  scope: string;
  previousImage: string;
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  /** The pre-restore snapshot (or, for a version, the safety backup). */
  snapshot: SetOnHost | null;
  restored: string[];
  notes: string[];
  verify: VerifyReport | null;
  failure: string;
  /** Where the app's output of a failed verification is kept on the host (null: nothing kept there). */
  appOutputOnHost: string | null;
}

export type RollbackOutcome = { dryRun: true; plan: string } | RollbackDone;

/** Which parts of a set each scope puts back. */
export function partsFor(scope: Settings['deploy']['scope'], m: Manifest, staticPath: string): RestoreParts {
  const all = m.volumes.map((v) => v.name);
  switch (scope) {
    case 'app':
      return APP_PARTS;
    case 'database':
      return { app: false, database: 'always', volumes: [] };
    case 'static': {
      const v = m.volumes.find((x) => x.mountpoint.replace(/\/$/, '') === staticPath.replace(/\/$/, ''));
      if (!v)
        throw new RefusedError(
          `backup set ${m.id} has no volume mounted at static-path ${staticPath} (it has: ${m.volumes.map((x) => `${x.name} at ${x.mountpoint || '?'}`).join(', ') || 'none'})`,
        );
      return { app: false, database: 'no', volumes: [v.name] };
    }
    case 'volumes':
      return { app: false, database: 'no', volumes: all };
    case 'full':
      return { app: true, database: 'always', volumes: all };
  }
}

export async function rollback(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
): Promise<RollbackOutcome> {
  const d = settings.deploy;
  if (d.version) {
    // A named version: a deploy of that version (safety backup, switch, verify, automatic rollback
    // on failure). Data is not restored: the database stays as it is unless its schema moves.
    const out = await deploy(host, settings, log, { ...opts, reason: 'pre-restore' });
    if (out.dryRun) return out;
    return {
      dryRun: false,
      mode: 'version',
      target: d.version,
      scope: 'app',
      previousImage: out.previousImage,
      deployedImage: out.deployedImage,
      rolledBack: out.ok,
      healthy: out.healthy,
      snapshot: out.preDeploy,
      restored: out.ok ? [`image ${out.deployedImage} (pulled), env file updated`] : out.restored,
      appOutputOnHost: out.appOutputOnHost,
      notes: out.notes,
      verify: out.rollbackVerify ?? out.verify,
      failure: out.failure,
    };
  }

  const facts = await log.group('Inspect the host', () => gatherFacts(host, settings, log));
  const { sets, unreadable } = await readSets(
    host,
    facts.backupDir,
    facts.project,
    settings.app.service,
    log,
  );
  let target: Manifest | null;
  let mode: RollbackDone['mode'];
  if (d.backupId) {
    mode = 'backup-set';
    target = sets.find((m) => m.id === d.backupId) ?? null;
    if (!target) {
      const bad = unreadable.find((u) => u.startsWith(`${d.backupId}:`));
      throw new RefusedError(
        bad
          ? `backup set ${bad}; nothing was changed`
          : `no backup set ${d.backupId} of project ${facts.project} in ${facts.backupDir} (sets of other projects are never restored here); nothing was changed`,
      );
    }
    if (!target.verified)
      throw new RefusedError(`backup set ${target.id} was never verified; nothing was changed`);
  } else {
    mode = 'emergency';
    const resumed = unfinishedRestoreTarget(sets, settings.run);
    const running =
      facts.container?.imageId ?? (await host.docker.inspectImage(facts.probe.imageVariable))?.id ?? '';
    target = (resumed && sets.find((m) => m.id === resumed && m.verified)) || emergencyTarget(sets, running);
    if (resumed && target?.id === resumed)
      log.info(
        `re-run (attempt ${settings.run.runAttempt}) of run ${settings.run.runId}: finishing the rollback to ${resumed} that an earlier attempt started`,
      );
    if (!target) {
      throw new RefusedError(
        `no verified backup set of ${facts.project} holds an image other than the running one, apart from ` +
          'failed releases and states a rollback or an interrupted deploy replaced; nothing to roll back to; ' +
          `nothing was changed. ${candidateList(sets, opts.now())}`,
      );
    }
  }
  const scope = mode === 'emergency' ? 'app' : d.scope;
  const parts = partsFor(scope, target, settings.verify.staticPath);
  const set: SetOnHost = { manifest: target, dir: `${facts.backupDir}/${target.id}` };
  const runAs = restoredImage(target.image).reference;
  const describe = `${mode} rollback to backup set ${target.id} (${target.reason}, ${target.created}, image ${runAs}), scope ${scope}`;
  if (settings.output.dryRun) {
    const plan = await dryRunPlan(host, settings, log, opts, { facts, set, parts, runAs, describe });
    log.info(`Dry run: nothing was changed on the host. The rollback would do:\n${plan}`);
    return { dryRun: true, plan };
  }
  log.info(describe);
  const rb = await log.group('Roll back', () =>
    rollbackToSet(host, settings, log, facts, set, {
      ...opts,
      snapshotReason: 'pre-restore',
      parts,
      proveRestore: true,
    }),
  );
  const healthy = !!rb.verify?.healthy;
  const incomplete = rb.notes.filter((n) => n.includes('NOT restored'));
  const appOutputOnHost = rb.failedState
    ? await keepAppOutput(host, log, rb.failedState.dir, [
        { label: `the verification after the rollback to ${target.id}`, report: rb.verify },
      ])
    : null;
  return {
    dryRun: false,
    mode,
    target: target.id,
    scope,
    previousImage: facts.probe.imageVariable,
    deployedImage: rb.image,
    rolledBack: rb.restored.length > 0,
    healthy,
    snapshot: rb.failedState,
    restored: rb.restored,
    notes: rb.notes,
    verify: rb.verify,
    appOutputOnHost,
    failure: !healthy
      ? 'the restored version failed verification'
      : incomplete.length
        ? incomplete.join('; ')
        : '',
  };
}

/**
 * The rollback's dry run: the exact commands, from the set's own manifest (its checksums, its image,
 * its volumes), the snapshot's backup steps included; the database restore as its condition and step.
 */
async function dryRunPlan(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  x: { facts: Facts; set: SetOnHost; parts: RestoreParts; runAs: string; describe: string },
): Promise<string> {
  const { app } = settings;
  const m = x.set.manifest;
  const snapshotId = opts.newId();
  const snapshot = await backup(
    host,
    {
      ...settings,
      backup: {
        ...settings.backup,
        database: x.parts.database !== 'no' ? settings.backup.database : 'none',
        volumes: x.parts.volumes,
      },
    },
    log,
    { id: snapshotId, reason: 'pre-restore', now: opts.now(), toolVersion: opts.toolVersion, facts: x.facts },
  );
  if (!snapshot.dryRun) throw new Error('unexpected backup outside the dry run');
  const steps = appRestoreSteps({
    setDir: x.set.dir,
    envPath: inProject(app.projectDir, app.envFile),
    backupTag: m.image.backupTag,
    reference: x.runAs,
    compose: x.facts.compose,
    service: app.service,
  });
  const volumes = x.parts.volumes.flatMap((name) => {
    const v = m.volumes.find((y) => y.name === name);
    return v
      ? [
          volumeRestoreStep({
            id: snapshotId,
            projectDir: app.projectDir,
            volume: name,
            archive: `${x.set.dir}/${v.file}`,
            image: m.image.backupTag,
            entries: v.entries,
          }),
        ]
      : [];
  });
  const database =
    x.parts.database === 'no' || m.database.kind === 'none'
      ? 'database: not restored (not in this scope)'
      : `database: ${m.database.kind} restored from ${m.id} (into a verified copy, the replaced data kept aside) ` +
        (x.parts.database === 'always' || settings.deploy.restoreDatabase === 'always'
          ? 'always (this scope)'
          : settings.deploy.restoreDatabase === 'never'
            ? '— never (restore-database: never)'
            : "only if the live schema fingerprint no longer matches the set's (restore-database: auto)");
  return [
    x.describe,
    formatPlan([verifySetStep(x.set.dir, filesFor(m, x.parts))]),
    `then stop ${app.service} (${x.facts.container ? `Docker API, container ${x.facts.container.id.slice(0, 12)}` : 'no container now'}) and snapshot what will be overwritten as set ${snapshotId}:`,
    snapshot.plan,
    'then put back:',
    formatPlan([...(x.parts.app ? [steps.env] : []), ...volumes]),
    database,
    formatPlan([...(x.parts.app ? [steps.retag] : []), steps.up]),
    `then verify ${healthUrlText(settings.verify.health)}.`,
  ].join('\n');
}

/**
 * The sets an operator could name instead, newest first (at most 10): id, image, reason, age. They are
 * validated manifests, so every field has its grammar.
 */
export function candidateList(setsNewestFirst: readonly Manifest[], now: Date): string {
  const verified = setsNewestFirst.filter((m) => m.verified).slice(0, 10);
  if (!verified.length) return 'There is no verified backup set of this project to name either.';
  const age = (m: Manifest) => {
    const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(m.created)) / 60_000));
    return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
  };
  return (
    'To restore one of these, run the rollback with backup-id set to its id: ' +
    verified.map((m) => `${m.id} (${m.image.reference}, ${m.reason}, ${age(m)})`).join('; ') +
    '.'
  );
}
