import type { Step } from '../backup/steps.js';
import { inProject } from '../compose.js';
import {
  candidateStartStep,
  composeConfigStep,
  preDeployStep,
  pullStep,
  registryOf,
  removeContainerStep,
  repositoryOf,
  setImageVariableStep,
  upStep,
} from '../deploy/commands.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import type { Log } from '../log.js';
import type { ManifestReason } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { decideDatabaseRestore } from '../deploy/decide.js';
import { backup, type BackupOptions } from './backup.js';
import { gatherFacts } from './facts.js';
import { readSets } from './list.js';
import { ensureSetImage } from './set-image.js';
import { deployRollbackPoint } from '../rerun.js';
import {
  appRestoreSteps,
  rollbackToSet,
  takeSnapshot,
  type RollbackOptions,
  type SetOnHost,
} from './rollback-to-set.js';
import { formatPlan, runStep } from './run-step.js';
import type { Facts } from './facts.js';
import { backupTag } from '../backup/commands.js';
import { currentContainer } from './service.js';
import { healthUrlText, verifyContainer, type VerifyReport } from './verify.js';
import { whyRestoreCannotRun } from './restore.js';
import { keepAppOutput } from './app-output.js';

export interface DeployOptions {
  /** Reason recorded on the safety backup: pre-deploy, or pre-restore for a rollback to a version. */
  reason?: ManifestReason;
  newId: () => string;
  now: () => Date;
  toolVersion: string;
  onPending?: BackupOptions['onPending'];
  onStopped?: RollbackOptions['onStopped'];
  clock?: () => number;
}

export interface DeployResult {
  dryRun: false;
  /** The new version is running and verified. */
  ok: boolean;
  previousImage: string;
  /** What the env file names (and compose runs) at the end. */
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  strategy: Settings['deploy']['strategy'];
  preDeploy: SetOnHost;
  failedState: SetOnHost | null;
  verify: VerifyReport | null;
  rollbackVerify: VerifyReport | null;
  restored: string[];
  notes: string[];
  failure: string;
  timings: { totalMs: number; detectMs: number | null; recoveryMs: number | null };
  /** Where the app's output of the failed verification is kept on the host (null: nothing kept there). */
  appOutputOnHost: string | null;
}

export type DeployOutcome = { dryRun: true; plan: string } | DeployResult;

export async function deploy(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
): Promise<DeployOutcome> {
  const clock = opts.clock ?? Date.now;
  const t0 = clock();
  const { app, deploy: d } = settings;
  const step = (s: Step) => log.group(s.title, async () => (await runStep(host, s, log)).toString());
  const facts = await log.group('Inspect the host', () => gatherFacts(host, settings, log));
  const previousImage = facts.probe.imageVariable;
  if (!previousImage)
    throw new RefusedError(
      `${app.imageVariable} is not set in ${app.envFile}: cannot tell which image to replace`,
    );
  const repository = app.image || repositoryOf(facts.container?.image || previousImage);
  const reference = `${repository}:${d.version}`;
  const envPath = inProject(app.projectDir, app.envFile);
  const t = facts.compose;
  const containerPort = facts.container?.ports.find(
    (p) => p.hostPort === settings.verify.health.port,
  )?.containerPort;
  if (d.strategy === 'blue-green' && !containerPort) {
    throw new RefusedError(
      `strategy blue-green needs the service to publish the health-url port ${settings.verify.health.port}; ` +
        `${app.service} publishes ${facts.container?.ports.map((p) => p.hostPort).join(', ') || 'no port'} (network mode ${facts.container?.networkMode || 'unknown'})`,
    );
  }
  const candidateName = `eqmd-rollback-candidate-${facts.project}`;
  const candidateStep =
    d.strategy === 'blue-green' && containerPort
      ? candidateStartStep(
          t,
          app.imageVariable,
          reference,
          app.service,
          candidateName,
          d.stagingPort,
          containerPort,
        )
      : null;

  const before: Step[] = [
    composeConfigStep(t),
    pullStep(
      reference,
      d.registryUsername
        ? { registry: registryOf(repository), username: d.registryUsername, password: d.registryPassword }
        : undefined,
    ),
    ...(d.preDeployCommand
      ? [preDeployStep(t, app.imageVariable, reference, app.service, d.preDeployCommand)]
      : []),
  ];
  if (settings.output.dryRun) {
    const plan = await dryRunPlan(host, settings, log, opts, {
      facts,
      before,
      switchSteps: [
        ...(candidateStep ? [candidateStep, removeContainerStep(candidateName)] : []),
        setImageVariableStep(envPath, app.imageVariable, reference),
        upStep(t, app.service),
      ],
      previousImage,
    });
    log.info(`Dry run: nothing was changed on the host. The deploy would run:\n${plan}`);
    return { dryRun: true, plan };
  }

  // Until the backup exists nothing has changed: any failure here leaves the host untouched.
  for (const s of before) {
    try {
      await step(s);
    } catch (err) {
      const detail = err instanceof RemoteCommandError ? err.message : (err as Error).message;
      throw new RefusedError(`${s.title} failed; nothing was changed on the host.\n${detail}`);
    }
  }
  // A re-run after an interrupted attempt rolls back to where that attempt started, not to the
  // half-changed state it left (which the backup below still keeps).
  const resumeFrom =
    settings.run.runId && Number(settings.run.runAttempt) >= 2
      ? deployRollbackPoint(
          (await readSets(host, facts.backupDir, facts.project, app.service, log)).sets,
          settings.run,
        )
      : null;
  const preId = opts.newId();
  const pre = await backup(host, settings, log, {
    id: preId,
    // What an interrupted attempt left is no state to come back to: an emergency rollback must not
    // take it for "the version before this deploy" (it held the broken release, half switched).
    reason: opts.reason ?? (resumeFrom ? 'interrupted-deploy' : 'pre-deploy'),
    now: opts.now(),
    toolVersion: opts.toolVersion,
    // Only the pull and the checks ran since the look above: nothing the backup records has changed.
    facts,
    ...(opts.onPending ? { onPending: opts.onPending } : {}),
  });
  if (pre.dryRun) throw new Error('unexpected dry run');
  const preSet: SetOnHost = { manifest: pre.manifest, dir: pre.setDir };
  // The rollback path is proven before the switch: a restore that would fail after it would leave the
  // old image on the new schema. (A hardened layout gives the app a role that owns its database but
  // may not create one; the restore goes through a fresh database.)
  if (d.autoRollback && d.restoreDatabase !== 'never') {
    const why = await log.group('Check that a rollback could restore the database', () =>
      whyRestoreCannotRun(host, settings, log, pre.manifest),
    );
    if (why)
      throw new RefusedError(
        `the rollback this deploy may need could not restore the database: ${why}. Nothing was switched ` +
          `(the backup ${pre.manifest.id} was made). Grant the role CREATEDB and the database's ownership, ` +
          'or deploy with restore-database: never (a failed release then keeps its schema).',
      );
  }
  const rollbackPoint: SetOnHost = resumeFrom
    ? { manifest: resumeFrom, dir: `${facts.backupDir}/${resumeFrom.id}` }
    : preSet;

  const result: DeployResult = {
    dryRun: false,
    ok: false,
    previousImage,
    deployedImage: previousImage,
    rolledBack: false,
    healthy: false,
    strategy: d.strategy,
    preDeploy: preSet,
    failedState: null,
    verify: null,
    rollbackVerify: null,
    restored: [],
    notes: [],
    failure: '',
    timings: { totalMs: 0, detectMs: null, recoveryMs: null },
    appOutputOnHost: null,
  };
  if (resumeFrom) {
    // Detected now, not after the switch: the rollback point must be startable.
    await ensureSetImage(host, log, resumeFrom);
    result.notes.push(
      `re-run (attempt ${settings.run.runAttempt}) of run ${settings.run.runId}: a failure rolls back to ${resumeFrom.id}, ` +
        `made by attempt ${resumeFrom.run.runAttempt} before it changed anything; the state this attempt found is in ${preId}`,
    );
    log.info(result.notes.at(-1)!);
  }
  const finish = (r: DeployResult): DeployResult => ({
    ...r,
    timings: { ...r.timings, totalMs: clock() - t0 },
  });

  if (candidateStep) {
    const switchAt = clock();
    const out = await step(candidateStep);
    const candidateId = out.trim().split('\n').pop() ?? candidateName;
    const candidate = await log.group(`Verify the candidate on port ${d.stagingPort}`, () =>
      verifyContainer(
        host,
        candidateId,
        { ...settings.verify.health, port: d.stagingPort },
        settings.verify,
        log,
        clock,
      ),
    );
    await step(removeContainerStep(candidateName));
    if (!candidate.healthy) {
      result.verify = candidate;
      result.timings.detectMs = clock() - switchAt;
      result.failure = `the candidate of ${reference} failed verification on port ${d.stagingPort} (${failedChecks(candidate)}); production was never switched`;
      result.notes.push('production kept running the previous version throughout');
      // The candidate shares production's database: a migration it ran must not stay behind. Look
      // first (a snapshot while production keeps serving); stop production only if the schema moved.
      if (d.autoRollback && pre.manifest.database.kind !== 'none') {
        const snapshot = await takeSnapshot(host, settings, log, opts, {
          reason: 'failed-candidate',
          database: true,
          volumes: [],
        });
        if (snapshot.set) result.failedState = snapshot.set;
        const decision = decideDatabaseRestore(
          d.restoreDatabase,
          rollbackPoint.manifest.database,
          snapshot.result,
        );
        log.info(`database after the failed candidate: ${decision.why}`);
        if (decision.restore) {
          const recoveryStart = clock();
          const rb = await rollbackToSet(host, settings, log, facts, rollbackPoint, {
            ...opts,
            snapshotReason: 'failed-candidate',
          });
          result.failedState = rb.failedState ?? result.failedState;
          result.restored = rb.restored.filter((r) => !r.startsWith('env file') && !r.startsWith('image '));
          result.notes.push(
            ...rb.notes,
            'production was stopped briefly to restore the database the candidate had migrated',
          );
          result.rollbackVerify = rb.verify;
          result.rolledBack = true;
          result.healthy = !!rb.verify?.healthy;
          result.timings.recoveryMs = clock() - recoveryStart;
        } else {
          result.notes.push(`database left as it is: ${decision.why}`);
          result.healthy = await productionHealthy(host, settings, log, facts.project);
        }
      } else {
        result.healthy = await productionHealthy(host, settings, log, facts.project);
      }
      if (result.failedState)
        result.appOutputOnHost = await keepAppOutput(host, log, result.failedState.dir, [
          { label: `the candidate of ${reference}`, report: candidate },
          { label: 'production after the database restore', report: result.rollbackVerify },
        ]);
      return finish(result);
    }
  }

  await step(setImageVariableStep(envPath, app.imageVariable, reference));
  const switchAt = clock();
  let upError = '';
  try {
    await step(upStep(t, app.service));
  } catch (err) {
    upError = (err as Error).message;
  }
  const container = await currentContainer(host, facts.project, app.service);
  if (!upError && container) {
    result.verify = await log.group(`Verify ${reference}`, () =>
      verifyContainer(host, container.id, settings.verify.health, settings.verify, log, clock),
    );
  }
  result.timings.detectMs = clock() - switchAt;
  if (result.verify?.healthy) {
    return finish({ ...result, ok: true, healthy: true, deployedImage: reference });
  }
  result.deployedImage = reference;
  result.failure = upError
    ? `compose could not start ${reference}: ${upError.split('\n').slice(0, 3).join(' ')}`
    : `${reference} failed verification: ${result.verify ? failedChecks(result.verify) : 'no container'}`;
  if (!d.autoRollback) {
    result.notes.push(
      `auto-rollback is off: ${reference} is left running; backup set ${rollbackPoint.manifest.id} holds the previous state`,
    );
    return finish(result);
  }

  const recoveryStart = clock();
  const rb = await log.group('Automatic rollback', () =>
    rollbackToSet(host, settings, log, facts, rollbackPoint, { ...opts, snapshotReason: 'failed-deploy' }),
  );
  result.failedState = rb.failedState;
  result.restored = rb.restored;
  result.notes.push(...rb.notes);
  result.rollbackVerify = rb.verify;
  result.rolledBack = true;
  result.deployedImage = rb.image;
  result.healthy = !!rb.verify?.healthy;
  result.timings.recoveryMs = clock() - recoveryStart;
  if (rb.failedState)
    result.appOutputOnHost = await keepAppOutput(host, log, rb.failedState.dir, [
      { label: `the verification of ${reference}`, report: result.verify },
      { label: 'the verification after the rollback', report: rb.verify },
    ]);
  return finish(result);
}

/**
 * The dry run: the exact commands of every step, the pre-deploy backup's included (planned from the
 * same look at the host), and the recovery a failed verification would run, as planned now. Parts that
 * depend on what the backup finds (its checksums, whether the schema moved) are named as conditions.
 */
async function dryRunPlan(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  x: { facts: Facts; before: Step[]; switchSteps: Step[]; previousImage: string },
): Promise<string> {
  const { app, deploy: d } = settings;
  const id = opts.newId();
  const backupPlan = await backup(host, settings, log, {
    id,
    reason: opts.reason ?? 'pre-deploy',
    now: opts.now(),
    toolVersion: opts.toolVersion,
    facts: x.facts,
  });
  if (!backupPlan.dryRun) throw new Error('unexpected backup outside the dry run');
  const setDir = `${x.facts.backupDir}/${id}`;
  const recovery = appRestoreSteps({
    setDir,
    envPath: inProject(app.projectDir, app.envFile),
    backupTag: backupTag(x.facts.project, id),
    reference: x.previousImage,
    compose: x.facts.compose,
    service: app.service,
  });
  const verify = `verify ${healthUrlText(settings.verify.health)} (every ${settings.verify.healthIntervalMs / 1000} s, up to ${settings.verify.healthTimeoutMs / 1000} s; fail fast on 3 server errors in a row, an exited or restarting container)`;
  return [
    'Checks before anything changes:',
    formatPlan(x.before),
    '',
    `Back up the running version (reason ${opts.reason ?? 'pre-deploy'}) as set ${id}:`,
    backupPlan.plan,
    '',
    'Switch:',
    formatPlan(x.switchSteps),
    `then ${verify}.`,
    '',
    d.autoRollback
      ? [
          `If that verification fails: stop ${app.service} (${x.facts.container ? `Docker API, container ${x.facts.container.id.slice(0, 12)}` : 'no container now'}), ` +
            'snapshot the failed state (reason failed-deploy: the backup steps above, as a new set), then:',
          formatPlan([recovery.verifySet, recovery.env]),
          `database: ${d.restoreDatabase === 'never' ? 'never restored (restore-database: never)' : d.restoreDatabase === 'always' ? `restored from ${id} (restore-database: always)` : `restored from ${id} only if its schema fingerprint no longer matches the set's (restore-database: auto)`}`,
          formatPlan([recovery.retag, recovery.up]),
          `then ${verify}.`,
        ].join('\n')
      : 'If that verification fails: nothing more (auto-rollback is off); the set above holds the previous state.',
  ].join('\n');
}

async function productionHealthy(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  project: string,
): Promise<boolean> {
  const c = await currentContainer(host, project, settings.app.service);
  if (!c) return false;
  const r = await log.group('Verify production', () =>
    verifyContainer(host, c.id, settings.verify.health, settings.verify, log),
  );
  return r.healthy;
}

/** The checks that failed, without those that were only skipped because an earlier one failed. */
export function failedChecks(report: VerifyReport): string {
  return report.checks
    .filter((c) => !c.ok && !c.detail.startsWith('not run'))
    .map((c) => `${c.check}: ${c.detail}`)
    .join('; ');
}
