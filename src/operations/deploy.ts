import type { Step } from '../backup/steps.js';
import { planDeploy } from '../deploy/plan.js';
import type { DeployOptions, DeployOutcome, DeployResult } from '../deploy/result.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { deployRollbackPoint } from '../rerun.js';
import { backup } from './backup.js';
import { startChecks } from './deploy-checks.js';
import { afterFailedCandidate, tryCandidate } from './deploy-candidate.js';
import { zeroDowntimeSwitch } from './zero-downtime/switch.js';
import { behindProxy } from './proxy.js';
import { deployDryRun } from './deploy-dry-run.js';
import { gatherFacts } from './facts.js';
import { readSets } from './list.js';
import { noRollbackPath, rollbackPathProof, whyRestoreCannotRun } from './restore-proof.js';
import { lookAfterSwitch, recoverFailedDeploy } from './recover.js';
import { runGroupedStep } from './run-step.js';
import { currentContainer } from './service.js';
import { ensureSetImage } from './set-image.js';
import { failedChecks, verifyContainer } from './verify.js';

export async function deploy(
  host: RemoteHost,
  given: Settings,
  log: Log,
  opts: DeployOptions,
): Promise<DeployOutcome> {
  const clock = opts.clock ?? Date.now;
  const t0 = clock();
  const d = given.deploy;
  const step = (s: Step) => runGroupedStep(host, log, s);
  const facts =
    opts.facts ??
    (await log.group('Inspect the host', () => gatherFacts(host, given, log, { withProxy: true })));
  const settings = behindProxy(given, facts);
  const plan = planDeploy(settings, facts);
  const { reference, previousImage } = plan;
  if (settings.output.dryRun) {
    const text = await deployDryRun(host, settings, log, opts, facts, plan);
    log.info(`Dry run: nothing was changed on the host. The deploy would run:\n${text}`);
    return { dryRun: true, plan: text };
  }

  // Until the backup exists nothing has changed: a refusal leaves the host untouched. Beside the
  // backup (plan.checksBesideBackup), a refusal removes its set.
  const checks = startChecks(host, log, plan, d, reference);
  if (!plan.checksBesideBackup) await checks.ready;
  // A re-run after an interrupted attempt rolls back to where that attempt started, not to the
  // half-changed state it left (which the backup below still keeps).
  const resumeFrom =
    settings.run.runId && Number(settings.run.runAttempt) >= 2
      ? deployRollbackPoint(
          (await readSets(host, facts.backupDir, facts.project, settings.app.service, log)).sets,
          settings.run,
        )
      : null;
  const preId = opts.newId();
  // The rollback path is proven before the switch: a restore that would fail after it would leave the
  // old image on the new schema. (A hardened layout gives the app a role that owns its database but
  // may not create one; the restore goes through a fresh database.)
  const proof =
    d.autoRollback && d.restoreDatabase !== 'never' ? rollbackPathProof(host, facts.backupDir) : null;
  const pre = await backup(host, settings, log, {
    id: preId,
    // What an interrupted attempt left is no state to come back to: an emergency rollback must not
    // take it for "the version before this deploy" (it held the broken release, half switched).
    reason: opts.reason ?? (resumeFrom ? 'interrupted-deploy' : 'pre-deploy'),
    ...(opts.rollbackMode ? { rollbackMode: opts.rollbackMode } : {}),
    now: opts.now(),
    toolVersion: opts.toolVersion,
    // Only the pull and the checks ran since the look above: nothing the backup records has changed.
    facts,
    migrations: checks.migrations,
    ...(opts.onPending ? { onPending: opts.onPending } : {}),
    ...(proof ? { onFilesWritten: proof.read } : {}),
  })
    .catch(async (err: unknown) => {
      await proof?.settled();
      // A refusal of the checks is why the backup stopped (or came first): it is what the run says.
      await checks.ready;
      throw err;
    })
    .finally(() => checks.said());
  const migrations = await checks.migrations;
  if (pre.dryRun) throw new Error('unexpected dry run');
  const preSet: SetOnHost = { manifest: pre.manifest, dir: pre.setDir };
  if (proof) {
    const why = await log.group('Check that a rollback could restore the database', () =>
      // Nothing was switched since the look at the host: its running container is still the one.
      proof.judge(pre, log, () =>
        whyRestoreCannotRun(
          host,
          settings,
          log,
          pre.manifest,
          facts.backupDir,
          facts.container?.running ? facts.container.id : undefined,
        ),
      ),
    );
    if (why) throw noRollbackPath(why, pre.manifest.id);
  }
  const point: SetOnHost = resumeFrom
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
    migrations,
    parts: [],
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

  if (facts.proxy) {
    const x = { facts: { ...facts, proxy: facts.proxy }, point, preSet, migrations };
    return finish(await zeroDowntimeSwitch(host, settings, log, opts, plan, result, x, clock));
  }
  if (plan.candidate) {
    const failed = await tryCandidate(host, settings, log, plan, clock);
    if (failed) {
      const x = { facts, point, preSet, candidate: failed.report, detectMs: failed.detectMs };
      return finish(await afterFailedCandidate(host, settings, log, opts, plan, result, x, clock));
    }
  }

  await step(plan.setImage);
  const switchAt = clock();
  let upError = '';
  try {
    await step(plan.up);
  } catch (err) {
    upError = (err as Error).message;
  }
  const [container, pulled] = await Promise.all([
    currentContainer(host, facts.project, settings.app.service),
    host.docker.inspectImage(reference),
  ]);
  if (!upError && container) {
    const expected = pulled ? { reference, imageId: pulled.id } : undefined;
    result.verify = await log.group(`Verify ${reference}`, () =>
      verifyContainer(host, container.id, settings.verify.health, settings.verify, log, clock, expected),
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
  const afterSwitch = upError ? null : await lookAfterSwitch(host, facts, reference, container, pulled);
  return finish(
    await recoverFailedDeploy(
      host,
      settings,
      log,
      opts,
      { reference, facts, point, title: 'Automatic rollback', ...(afterSwitch ? { afterSwitch } : {}) },
      result,
      clock,
    ),
  );
}
