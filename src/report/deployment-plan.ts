import type { Settings } from '../settings.js';
import { databaseRecord } from '../restore/outcome.js';
import { checksLine, rolledBack, type RunEvent } from './event.js';

/**
 * Which GitHub deployment calls a run makes, with which payloads. Pure: the edge (github.ts) sends them.
 *
 * - deploy: create a deployment of the version and set it in_progress before anything changes; at the end
 *   success, or failure when it was rolled back or failed (error when the run stopped on an error).
 * - rollback: at the end, create a deployment of the version it restored, success or failure.
 * - when the new deployment is what now runs (a successful deploy, any rollback that restored something),
 *   the deployment that was active before becomes inactive. This is done explicitly (auto_inactive off):
 *   GitHub's automatic inactivation skips production environments.
 */

export interface DeploymentTarget {
  owner: string;
  repo: string;
  environment: string;
  environmentUrl: string;
  /** The commit the deployment is recorded against: the workflow's GITHUB_SHA. */
  ref: string;
  logUrl: string;
}

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface CreateDeployment {
  owner: string;
  repo: string;
  ref: string;
  environment: string;
  description: string;
  payload: Record<string, string>;
  auto_merge: false;
  required_contexts: string[];
  transient_environment: false;
  production_environment: boolean;
}

export interface CreateStatus {
  owner: string;
  repo: string;
  deployment_id: number;
  state: DeploymentState;
  description: string;
  log_url: string;
  environment_url?: string;
  auto_inactive: false;
}

/** GitHub's limit on a description. */
const MAX_DESCRIPTION = 140;
const describe = (s: string): string =>
  s.length > MAX_DESCRIPTION ? `${s.slice(0, MAX_DESCRIPTION - 1)}…` : s;

/** The run link: `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`. */
export function runUrl(run: Settings['run']): string {
  if (!run.repository || !run.runId) return '';
  return `${run.serverUrl || 'https://github.com'}/${run.repository}/actions/runs/${run.runId}`;
}

/** Where deployments are recorded, or why not (a sentence for the log). */
export function deploymentTarget(s: Settings): DeploymentTarget | { skip: string } {
  if (!s.report.environment) return { skip: 'no environment input: no deployment records' };
  if (s.command !== 'deploy' && s.command !== 'rollback')
    return { skip: `${s.command} records no deployment` };
  if (s.output.dryRun) return { skip: 'dry run: no deployment records' };
  const [owner, repo, extra] = s.run.repository.split('/');
  if (!owner || !repo || extra !== undefined || !s.run.sha) {
    return {
      skip: 'GITHUB_REPOSITORY or GITHUB_SHA unset (not a GitHub Actions run): no deployment records',
    };
  }
  return {
    owner,
    repo,
    environment: s.report.environment,
    environmentUrl: s.report.environmentUrl,
    ref: s.run.sha,
    logUrl: runUrl(s.run),
  };
}

function createRequest(
  t: DeploymentTarget,
  description: string,
  payload: Record<string, string>,
): CreateDeployment {
  return {
    owner: t.owner,
    repo: t.repo,
    ref: t.ref,
    environment: t.environment,
    description: describe(description),
    payload: { tool: 'eqmd-rollback', ...payload },
    // Record what was deployed, not a merge: no merge of the default branch, no commit-status gate.
    auto_merge: false,
    required_contexts: [],
    transient_environment: false,
    production_environment: t.environment.toLowerCase() === 'production',
  };
}

export function statusRequest(
  t: DeploymentTarget,
  id: number,
  state: DeploymentState,
  description: string,
): CreateStatus {
  return {
    owner: t.owner,
    repo: t.repo,
    deployment_id: id,
    state,
    description: describe(description),
    log_url: t.logUrl,
    ...(t.environmentUrl && state !== 'inactive' ? { environment_url: t.environmentUrl } : {}),
    auto_inactive: false,
  };
}

/** A deploy's deployment, created before anything changes. */
export function deployStart(
  t: DeploymentTarget,
  version: string,
): { create: CreateDeployment; status: string } {
  return {
    create: createRequest(t, `deploy ${version}`, { command: 'deploy', version }),
    status: `deploying ${version}`,
  };
}

/** A rollback's deployment: of the version it restored, created once that is known. */
export function rollbackCreate(t: DeploymentTarget, e: RunEvent): CreateDeployment {
  const { database, carryOver } = databaseRecord(e.parts);
  return createRequest(t, `rollback to ${e.requested}: ${e.runningImage}`, {
    command: 'rollback',
    version: e.runningImage.split(':').pop() ?? '',
    image: e.runningImage,
    replaced: e.previousImage,
    restoredFrom: e.requested,
    ...(database && { database }),
    ...(carryOver && { carryOver }),
  });
}

export function finalState(e: RunEvent): DeploymentState {
  if (e.outcome === 'error') return 'error';
  return e.outcome === 'deployed' || e.outcome === 'restored' ? 'success' : 'failure';
}

export function finalDescription(e: RunEvent): string {
  const failed = e.failedChecks.length ? checksLine(e.failedChecks) : e.failure;
  const { database, carried } = databaseRecord(e.parts);
  const migrations = e.migrations ? ` (migrations: ${e.migrations})` : '';
  // What a rollback did to the records comes first, short: the failure's detail may be cut at 140.
  const records = [database && `database ${database}`, carried].filter(Boolean).join('; ');
  switch (e.outcome) {
    case 'deployed':
      return `${e.runningImage} running and verified${migrations}`;
    case 'rolled-back':
      return `rolled back to ${e.runningImage}${records ? ` (${records})` : ''}: ${failed}`;
    case 'restored':
      return `${e.runningImage} restored and verified`;
    case 'rollback-failed':
      return `rollback incomplete: ${failed}`;
    default:
      return `failed: ${failed}`;
  }
}

/** The newest deployment whose latest status is success: what the environment says runs now. */
export function activeDeployment(
  newestFirst: readonly { id: number; latestState: string | null }[],
  exclude: number | null = null,
): number | null {
  return newestFirst.find((d) => d.id !== exclude && d.latestState === 'success')?.id ?? null;
}

/** The statuses to post at the end: the final one on this run's deployment, then inactive on the replaced. */
export function finishStatuses(
  t: DeploymentTarget,
  e: RunEvent,
  created: number,
  replaced: number | null,
): CreateStatus[] {
  const state = finalState(e);
  const nowRuns = e.command === 'deploy' ? state === 'success' : rolledBack(e);
  return [
    statusRequest(t, created, state, finalDescription(e)),
    ...(nowRuns && replaced !== null && replaced !== created
      ? [statusRequest(t, replaced, 'inactive', `replaced by ${e.runningImage} (deployment ${created})`)]
      : []),
  ];
}
