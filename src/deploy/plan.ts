import type { Step } from '../backup/steps.js';
import { inProject } from '../compose.js';
import { RefusedError } from '../errors.js';
import type { Facts } from '../operations/facts.js';
import type { ManifestReason } from '../manifest.js';
import { migrationFactsLike, migrationFactsStep, type ClassifyLike } from '../migrations/step.js';
import { APP_PARTS, planRestore, type RestorePlan, type SetOnHost } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import {
  candidateStartStep,
  preDeployStep,
  pullStep,
  registryOf,
  removeContainerStep,
  repositoryOf,
  setImageVariableStep,
  upStep,
} from './commands.js';
import { composeConfigStep } from './config-check.js';

/**
 * A deploy decided from one look at the host, before anything changes: what runs now, what replaces
 * it, and every remote step with its exact command. The dry run prints it; the deploy executes it.
 */
export interface DeployPlan {
  /** What the env file names now: the version a failure goes back to. */
  previousImage: string;
  /** The new version, `repository:version`. */
  reference: string;
  envPath: string;
  /**
   * Checks that change nothing: a failure of one refuses the deploy with the host untouched. The
   * configuration check runs beside the fetch (the pull, then the pre-deploy command in the new image).
   */
  check: Step;
  fetch: Step[];
  /**
   * The checks and the fetch run beside the pre-deploy backup: only when no finding of theirs is
   * meant to come before it (migration-policy allow) and they run none of the operator's code (a
   * pre-deploy command may write, and was promised to run before anything changes).
   */
  checksBesideBackup: boolean;
  /** Read-only: the new image's Django lists the migrations it would apply (null: no database). */
  classify: Step | null;
  /** The same, beside the running container, when its configuration is still the service's. */
  classifyLike: ClassifyLike | null;
  /** blue-green: the candidate started beside production, verified on the staging port, removed. */
  candidate: { name: string; start: Step; remove: Step; port: number } | null;
  /** zero-downtime: a candidate started beside the service, unpublished (the proxy reaches it). */
  beside: { name: string; start: Step; remove: Step } | null;
  /** The switch of production itself. */
  setImage: Step;
  up: Step;
}

/** Pure: refuses (RefusedError) what cannot be deployed from these facts, or returns the plan. */
export function planDeploy(settings: Settings, facts: Facts): DeployPlan {
  const { app, deploy: d } = settings;
  const previousImage = facts.probe.imageVariable;
  if (!previousImage)
    throw new RefusedError(
      `${app.imageVariable} is not set in ${app.envFile}: cannot tell which image to replace`,
    );
  const repository = app.image || repositoryOf(facts.container?.image || previousImage);
  const reference = `${repository}:${d.version}`;
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
  const name = `eqmd-rollback-candidate-${facts.project}`;
  const envPath = inProject(app.projectDir, app.envFile);
  const login = d.registryUsername
    ? { registry: registryOf(repository), username: d.registryUsername, password: d.registryPassword }
    : undefined;
  // Without a database there are no migrations to list.
  const lists = settings.backup.database !== 'none';
  return {
    previousImage,
    reference,
    envPath,
    check: composeConfigStep(t, app.service),
    fetch: [
      pullStep(reference, login),
      ...(d.preDeployCommand
        ? [preDeployStep(t, app.imageVariable, reference, app.service, d.preDeployCommand)]
        : []),
    ],
    checksBesideBackup: d.migrationPolicy === 'allow' && !d.preDeployCommand,
    classify: lists ? migrationFactsStep(t, app.imageVariable, reference, app.service) : null,
    classifyLike: lists ? migrationFactsLike(facts.container, app.service, reference, app.projectDir) : null,
    candidate:
      d.strategy === 'blue-green' && containerPort
        ? {
            name,
            start: candidateStartStep(
              t,
              app.imageVariable,
              reference,
              app.service,
              name,
              d.stagingPort,
              containerPort,
            ),
            remove: removeContainerStep(name),
            port: d.stagingPort,
          }
        : null,
    beside:
      d.strategy === 'zero-downtime'
        ? {
            name,
            start: candidateStartStep(t, app.imageVariable, reference, app.service, name, null, null),
            remove: removeContainerStep(name),
          }
        : null,
    setImage: setImageVariableStep(envPath, app.imageVariable, reference),
    up: upStep(t, app.service),
  };
}

/** The recovery of a failed deploy: the app part of the rollback point, planned like any rollback. */
export function recoveryPlan(
  settings: Settings,
  facts: Facts,
  point: SetOnHost,
  reason: ManifestReason,
  snapshotId: string,
  /** The release that failed: its image can undo its migrations. */
  release: string,
): RestorePlan {
  return planRestore({
    app: settings.app,
    restoreDatabase: settings.deploy.restoreDatabase,
    compose: facts.compose,
    target: point,
    parts: APP_PARTS,
    snapshotId,
    snapshotReason: reason,
    currentImage: facts.probe.imageVariable,
    fromImage: release,
    carryOver: settings.deploy.carryOver,
  });
}
