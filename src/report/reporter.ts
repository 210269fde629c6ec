// Reports a deploy, rollback or verification where a team looks: GitHub deployment records, an error
// annotation, the notify-webhook. The deploy never waits on any of it: the deployment record is started in
// the background while the deploy runs, the rest is sent once the outcome is known, every call is
// time-boxed, and every failure is a warning. Nothing here throws into the caller.

import * as core from '@actions/core';
import type { Log } from '../log.js';
import type { Settings } from '../settings.js';
import { annotationFor } from './annotation.js';
import {
  deploymentTarget,
  deployStart,
  finishStatuses,
  rollbackCreate,
  runUrl,
  statusRequest,
  type DeploymentTarget,
} from './deployment-plan.js';
import { errorEvent, type RunEvent } from './event.js';
import { GitHubDeployments } from './github.js';
import { notify } from './notify.js';
import { shouldNotify, webhookMessage } from './webhook-message.js';

/** Calls made while the deploy runs (find the active deployment, create, in_progress). */
const START_BUDGET_MS = 10_000;
/** Calls made after it: final status, inactive, the rollback's deployment. Runs beside the webhook. */
const FINISH_BUDGET_MS = 8_000;

export interface ArtifactRef {
  name: string;
  id: number;
}

export interface Where {
  artifact: ArtifactRef | null;
  /** The manifest on the runner, named when no artifact was uploaded. */
  manifestPath: string;
}

export interface Reporting {
  /** Reports the outcome once; later calls (and error() after it) do nothing. */
  finish(e: RunEvent, where: Where): Promise<void>;
  /** The run stopped on an error before an outcome was reported. */
  error(message: string): Promise<void>;
}

interface Started {
  created: number | null;
  replaced: number | null;
}

const NOTHING: Reporting = { finish: async () => {}, error: async () => {} };

const reportedCommand = (c: Settings['command']): c is RunEvent['command'] =>
  c === 'deploy' || c === 'rollback' || c === 'verify';

export function startReporting(settings: Settings, log: Log): Reporting {
  const command = settings.command;
  if (!reportedCommand(command) || settings.output.dryRun) return NOTHING;
  const target = deploymentTarget(settings);
  if ('skip' in target && settings.report.environment) log.info(target.skip);
  const gh = 'skip' in target ? null : new GitHubDeployments(settings.report.githubToken, target, log);
  const started: Promise<Started> =
    gh && !('skip' in target)
      ? begin(gh, target, settings).catch((err: Error) => {
          log.warning(`deployment record not started: ${err.message}`);
          return { created: null, replaced: null };
        })
      : Promise.resolve({ created: null, replaced: null });
  const link = runUrl(settings.run);
  let done = false;

  async function finish(e: RunEvent, where: Where): Promise<void> {
    if (done) return;
    done = true;
    try {
      const annotation = annotationFor(e);
      if (annotation) core.error(annotation.message, { title: annotation.title });
      const artifact = where.artifact
        ? {
            name: where.artifact.name,
            url: link ? `${link}/artifacts/${where.artifact.id}` : `id ${where.artifact.id}`,
          }
        : null;
      await Promise.all([
        gh && !('skip' in target) ? end(gh, target, e, started) : null,
        settings.report.notifyWebhook && shouldNotify(e)
          ? notify(
              settings.report.notifyWebhook,
              webhookMessage(e, {
                repository: settings.run.repository,
                environment: settings.report.environment,
                runUrl: link,
                artifact,
                manifestPath: where.manifestPath,
              }),
              log,
            )
          : null,
      ]);
    } catch (err) {
      log.warning(`reporting failed: ${(err as Error).message}`);
    }
  }

  return {
    finish,
    error: (message) =>
      finish(errorEvent(command, requestedBy(settings), message.split('\n')[0] ?? ''), {
        artifact: null,
        manifestPath: '',
      }),
  };
}

function requestedBy(s: Settings): string {
  if (s.command === 'deploy') return s.deploy.version;
  if (s.command === 'rollback') {
    return s.rollback.backupId ? `backup set ${s.rollback.backupId}` : s.deploy.version || 'the last change';
  }
  return '';
}

/** While the deploy runs: what is active now, then (deploy) the new deployment, in_progress. */
async function begin(gh: GitHubDeployments, t: DeploymentTarget, s: Settings): Promise<Started> {
  gh.within(START_BUDGET_MS);
  const replaced = await gh.active();
  if (s.command !== 'deploy') return { created: null, replaced };
  const { create, status } = deployStart(t, s.deploy.version);
  const created = await gh.create(create);
  if (created !== null) await gh.status(statusRequest(t, created, 'in_progress', status));
  return { created, replaced };
}

/** Once the outcome is known: (rollback) its deployment, the final status, the replaced one inactive. */
async function end(
  gh: GitHubDeployments,
  t: DeploymentTarget,
  e: RunEvent,
  started: Promise<Started>,
): Promise<void> {
  const { created, replaced } = await started;
  gh.within(FINISH_BUDGET_MS);
  let id = created;
  if (e.command === 'rollback') {
    // A rollback that stopped on an error changed nothing: there is no new version to record.
    if (e.outcome === 'error') return;
    id = await gh.create(rollbackCreate(t, e));
  }
  if (id === null) return;
  for (const status of finishStatuses(t, e, id, replaced)) await gh.status(status);
}
