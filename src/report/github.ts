// GitHub deployments edge: sends what deployment-plan.ts decided. The API is reached through
// @actions/github, whose defaults honour GITHUB_API_URL (GitHub Enterprise, or a test double) and the
// runner's proxy settings. Every call is time-boxed; a failure is a warning and nothing more. Once a call
// gets no answer at all the API is taken as unreachable and the remaining calls are skipped, so a dead
// API costs one time-out, not one per call.

import { getOctokit } from '@actions/github';
import type { Log } from '../log.js';
import type { CreateDeployment, CreateStatus, DeploymentTarget } from './deployment-plan.js';
import { activeDeployment } from './deployment-plan.js';
import { timeboxed } from './timebox.js';

/** A few seconds per call: a record is worth little next to a deploy that waits for it. */
export const CALL_TIMEOUT_MS = 4000;
/** How many recent deployments are looked at to find the active one. */
const LOOKBACK = 5;

export class GitHubDeployments {
  private readonly octokit: ReturnType<typeof getOctokit>;
  private unreachable = '';
  private deadline = 0;

  constructor(
    token: string,
    private readonly target: DeploymentTarget,
    private readonly log: Log,
  ) {
    this.octokit = getOctokit(token);
  }

  /** Starts a phase: its calls together take at most `ms`. */
  within(ms: number): this {
    this.deadline = Date.now() + ms;
    return this;
  }

  private async call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T | null> {
    if (this.unreachable) {
      this.log.debug(`skipped (${this.unreachable}): ${what}`);
      return null;
    }
    const r = await timeboxed(Math.min(CALL_TIMEOUT_MS, this.deadline - Date.now()), fn);
    if (r.ok) return r.value;
    if (!r.answered) this.unreachable = `the GitHub API did not answer: ${r.reason}`;
    this.log.warning(`deployment record not updated: ${what}: ${r.reason}`);
    return null;
  }

  /** The deployment of the environment that is active now (newest with a success status), if any. */
  async active(): Promise<number | null> {
    const { owner, repo, environment } = this.target;
    const list = await this.call(`list deployments of ${environment}`, (signal) =>
      this.octokit.rest.repos.listDeployments({
        owner,
        repo,
        environment,
        per_page: 10,
        request: { signal },
      }),
    );
    if (!list) return null;
    const seen: { id: number; latestState: string | null }[] = [];
    for (const d of list.data.slice(0, LOOKBACK)) {
      const statuses = await this.call(`read the statuses of deployment ${d.id}`, (signal) =>
        this.octokit.rest.repos.listDeploymentStatuses({
          owner,
          repo,
          deployment_id: d.id,
          per_page: 1,
          request: { signal },
        }),
      );
      if (!statuses) return null;
      seen.push({ id: d.id, latestState: statuses.data[0]?.state ?? null });
      const found = activeDeployment(seen);
      if (found !== null) return found;
    }
    return null;
  }

  async create(req: CreateDeployment): Promise<number | null> {
    const res = await this.call(`create a deployment in ${req.environment}`, (signal) =>
      this.octokit.rest.repos.createDeployment({ ...req, request: { signal } }),
    );
    if (!res) return null;
    if ('id' in res.data && typeof res.data.id === 'number') {
      this.log.info(`GitHub deployment ${res.data.id} created in ${req.environment}: ${req.description}`);
      return res.data.id;
    }
    this.log.warning(`deployment not created: GitHub answered HTTP ${res.status} without an id`);
    return null;
  }

  async status(req: CreateStatus): Promise<void> {
    const done = await this.call(`set deployment ${req.deployment_id} ${req.state}`, (signal) =>
      this.octokit.rest.repos.createDeploymentStatus({ ...req, request: { signal } }),
    );
    if (done) this.log.info(`GitHub deployment ${req.deployment_id}: ${req.state} (${req.description})`);
  }
}
