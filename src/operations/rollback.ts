import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import { failedParts, partNotes } from '../restore/outcome.js';
import { backupTag } from '../backup/set-paths.js';
import { planRestore, type RestorePlan } from '../restore/plan.js';
import { formatRestorePlan } from '../restore/plan-text.js';
import { partsFor } from '../restore/scope.js';
import type { Settings } from '../settings.js';
import { keepAppOutput } from './app-output.js';
import { backup } from './backup.js';
import type { DeployOptions, DeployResult } from '../deploy/result.js';
import { behindProxy } from './proxy.js';
import { checkFrontDoor } from './zero-downtime/front-door.js';
import { heldRollback } from './zero-downtime/held.js';
import { taggedReference } from '../emergency-target.js';
import { deploy } from './deploy.js';
import { gatherFacts, type Facts } from './facts.js';
import { chooseTarget } from './rollback-target.js';
import { rollbackToSet } from './rollback-to-set.js';
import { snapshotSettings } from './snapshot.js';
import { healthUrlText } from './verify.js';
import type { RollbackDone, RollbackOutcome } from './rollback-result.js';

export async function rollback(
  host: RemoteHost,
  given: Settings,
  log: Log,
  opts: DeployOptions,
): Promise<RollbackOutcome> {
  let settings = given;
  const version = settings.deploy.version;
  if (version) {
    // A named version: a deploy of that version (safety backup, switch, verify, automatic rollback
    // on failure). Data is not restored: the database stays as it is unless its schema moves.
    const out = await deploy(host, settings, log, {
      ...opts,
      reason: 'pre-restore',
      rollbackMode: 'version',
    });
    return out.dryRun ? out : fromDeploy(out, 'version', version, null);
  }

  const facts = await log.group('Inspect the host', () =>
    gatherFacts(host, settings, log, { withProxy: true }),
  );
  settings = behindProxy(settings, facts);
  const choice = await chooseTarget(host, settings, log, facts, opts.now());
  if (choice.mode === 'undo') {
    // Undoing an operator's rollback is a deploy of the version it replaced: the same plan, checks and
    // automatic rollback as any deploy, its migrations forward, nothing restored over later records.
    const t = taggedReference(choice.reference)!;
    const again: Settings = {
      ...settings,
      app: { ...settings.app, image: t.repository },
      deploy: { ...settings.deploy, version: t.tag },
    };
    const out = await deploy(host, again, log, { ...opts, facts });
    if (out.dryRun) {
      const plan = `undo the rollback that replaced ${choice.reference} (its snapshot ${choice.target.id}): deploy it again\n${out.plan}`;
      return { dryRun: true, plan };
    }
    return fromDeploy(out, 'undo', choice.reference, choice.target.id);
  }
  const { mode, target } = choice;
  const scope = mode === 'emergency' ? 'app' : settings.rollback.scope;
  const snapshotId = opts.newId();
  const plan = planRestore({
    app: settings.app,
    restoreDatabase: settings.deploy.restoreDatabase,
    compose: facts.compose,
    target: { manifest: target, dir: `${facts.backupDir}/${target.id}` },
    parts: partsFor(scope, target, settings.verify.staticPath),
    snapshotId,
    snapshotReason: 'pre-restore',
    currentImage: facts.probe.imageVariable,
    ...releaseImage(facts, snapshotId),
    carryOver: settings.deploy.carryOver,
  });
  const describe = `${mode} rollback to backup set ${target.id} (${target.reason}, ${target.created}, image ${plan.image}), scope ${scope}`;
  if (settings.output.dryRun) {
    const text = `${describe}\n${await dryRunText(host, settings, log, opts, facts, plan)}`;
    log.info(`Dry run: nothing was changed on the host. The rollback would do:\n${text}`);
    return { dryRun: true, plan: text };
  }
  log.info(describe);
  const run = () =>
    log.group('Roll back', () =>
      rollbackToSet(host, settings, log, facts.project, plan, {
        ...opts,
        proveRestore: true,
        rollbackMode: mode,
        facts,
      }),
    );
  const { value: rb, traffic } = facts.proxy
    ? await heldRollback(host, settings, log, facts.proxy, facts.project, run)
    : { value: await run(), traffic: undefined };
  const healthy = !!rb.verify?.healthy;
  const incomplete = partNotes(failedParts(rb.parts));
  const appOutputOnHost = rb.failedState
    ? await keepAppOutput(host, log, rb.failedState.dir, [
        { label: `the verification after the rollback to ${target.id}`, report: rb.verify },
      ])
    : null;
  const done: RollbackDone = {
    dryRun: false,
    mode,
    target: target.id,
    scope,
    // What ran: after an interrupted rollback the env file already names the version it went back to.
    previousImage: facts.container?.image || facts.probe.imageVariable,
    deployedImage: rb.image,
    rolledBack: rb.parts.some((p) => p.status === 'restored'),
    healthy,
    snapshot: rb.failedState,
    parts: rb.parts,
    notes: rb.notes,
    verify: rb.verify,
    appOutputOnHost,
    undid: null,
    ...(traffic ? { traffic } : {}),
    failure: !healthy
      ? 'the restored version failed verification'
      : incomplete.length
        ? incomplete.join('; ')
        : '',
  };
  return facts.proxy ? checkFrontDoor(host, settings, log, facts.proxy, done) : done;
}

/** The dry run: the plan that would run, with the snapshot's own backup steps planned from the same look. */
async function dryRunText(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  facts: Facts,
  plan: RestorePlan,
): Promise<string> {
  const snapshot = await backup(
    host,
    snapshotSettings(settings, { database: !!plan.database, volumes: plan.parts.volumes }),
    log,
    {
      id: plan.snapshotId,
      reason: plan.snapshotReason,
      now: opts.now(),
      toolVersion: opts.toolVersion,
      facts,
    },
  );
  if (!snapshot.dryRun) throw new Error('unexpected backup outside the dry run');
  return formatRestorePlan(plan, {
    service: settings.app.service,
    stopping: facts.container
      ? `Docker API, container ${facts.container.id.slice(0, 12)}`
      : 'no container now',
    snapshotSteps: snapshot.plan,
    verify: `verify ${healthUrlText(settings.verify.health)}`,
  });
}

/** A rollback that ran as a deploy (a named version, or an undo): its outcome in rollback terms. */
function fromDeploy(
  out: DeployResult,
  mode: 'version' | 'undo',
  target: string,
  undid: string | null,
): RollbackDone {
  return {
    dryRun: false,
    mode,
    undid,
    target,
    scope: 'app',
    previousImage: out.previousImage,
    deployedImage: out.deployedImage,
    rolledBack: out.ok,
    healthy: out.healthy,
    snapshot: out.preDeploy,
    parts: out.ok ? [{ part: 'version', status: 'restored', reference: out.deployedImage }] : out.parts,
    appOutputOnHost: out.appOutputOnHost,
    notes: out.notes,
    verify: out.rollbackVerify ?? out.verify,
    failure: out.failure,
    ...(out.traffic ? { traffic: out.traffic } : {}),
  };
}

/**
 * The image that can undo the release's migrations: the one the service's container runs, under the
 * tag the pre-restore snapshot gives it before anything changes. Not the env file's image variable: a
 * rollback puts the env file back before it migrates back, so after an interruption there the re-run
 * read the previous version in it, whose Django knows none of the release's migrations: its
 * migrate-back did nothing and the release's NOT NULL column stayed under the previous version.
 */
function releaseImage(facts: Facts, snapshotId: string): { fromImage: string; fromImageName?: string } {
  if (!facts.container || !facts.image) return { fromImage: facts.probe.imageVariable };
  return { fromImage: backupTag(facts.project, snapshotId), fromImageName: facts.container.image };
}
