import type { ContainerInfo } from '../docker-api.js';
import type { HttpAnswer } from '../remote-host.js';

export interface Observation {
  /** Milliseconds since the wait began. */
  at: number;
  container: Pick<
    ContainerInfo,
    'running' | 'restarting' | 'status' | 'exitCode' | 'restartCount' | 'health'
  > | null;
  http: HttpAnswer | null;
}

export type Verdict =
  | { done: false }
  | { done: true; healthy: true; reason: string }
  | { done: true; healthy: false; reason: string; failFast: boolean };

/** Consecutive 5xx answers that end the wait: one 500 can be a warm-up, several in a row are a broken release. */
export const FAIL_FAST_5XX = 3;

/**
 * After a 5xx the next probes come this soon: the consecutive answers that decide are still required,
 * but a broken release is no longer given a whole interval between each (a 2 s interval made every
 * failed deploy wait 4 s more than the answers needed).
 */
export const RECHECK_AFTER_5XX_MS = 250;

/**
 * While the app does not answer at all (connection refused or reset: it is still starting), the next
 * probe comes this soon: a refused connection costs the app nothing, and a 2 s grid made a release
 * that listened 0.1 s after the first probe wait 1.9 s for the next (at 250 ms, 125 ms on average,
 * twice in a failed deploy: its switch and its recovery).
 */
export const RECHECK_NO_ANSWER_MS = 100;

const ok = (a: HttpAnswer | null): boolean => !!a && a.status >= 200 && a.status < 400;
const serverError = (a: HttpAnswer | null): boolean => !!a && a.status >= 500;

/**
 * An answer as the reports show it: the status, never the body. A body is the app's own text (a
 * Django error page can carry row values); it is kept apart, see AppOutput.
 */
export function describeAnswer(a: HttpAnswer | null): string {
  if (!a) return 'no probe yet';
  if (a.status === 0) return `no answer (${a.error})`;
  return `HTTP ${a.status}`;
}

/**
 * How long to wait before the next probe, `elapsedMs` after the wait began: on the interval's grid,
 * or sooner after a server error or no answer yet (never slower than the interval).
 */
export function nextProbeDelay(
  history: readonly Observation[],
  intervalMs: number,
  elapsedMs: number,
): number {
  const last = history.at(-1)?.http ?? null;
  if (serverError(last)) return Math.min(intervalMs, RECHECK_AFTER_5XX_MS);
  if (last?.status === 0) return Math.min(intervalMs, RECHECK_NO_ANSWER_MS);
  return Math.max(0, intervalMs - (elapsedMs % intervalMs));
}

/**
 * Decides, after each observation, whether the wait is over. Signals that cannot get better end it at
 * once instead of burning the whole timeout: an exited or restart-looping container, Docker's
 * `unhealthy`, or several 5xx in a row. Healthy means a 2xx/3xx answer from a running container.
 */
export function judge(history: readonly Observation[], deadlineMs: number): Verdict {
  const last = history.at(-1);
  if (!last) return { done: false };
  const c = last.container;
  const first = history[0]?.container;
  if (!c) return { done: true, healthy: false, reason: 'the service has no container', failFast: true };
  if (c.restarting || (first && c.restartCount > first.restartCount)) {
    return {
      done: true,
      healthy: false,
      reason: `the container is restart-looping (last exit code ${c.exitCode})`,
      failFast: true,
    };
  }
  if (!c.running) {
    return {
      done: true,
      healthy: false,
      reason: `the container ${c.status} (exit code ${c.exitCode})`,
      failFast: true,
    };
  }
  if (c.health === 'unhealthy')
    return { done: true, healthy: false, reason: 'Docker reports the container unhealthy', failFast: true };
  const recent = history.slice(-FAIL_FAST_5XX);
  if (recent.length === FAIL_FAST_5XX && recent.every((o) => serverError(o.http))) {
    return {
      done: true,
      healthy: false,
      reason: `${FAIL_FAST_5XX} server errors in a row (${describeAnswer(last.http)})`,
      failFast: true,
    };
  }
  if (ok(last.http))
    return {
      done: true,
      healthy: true,
      reason: `${describeAnswer(last.http)} after ${(last.at / 1000).toFixed(1)} s`,
    };
  if (last.at >= deadlineMs) {
    return {
      done: true,
      healthy: false,
      reason: `no healthy answer within ${deadlineMs / 1000} s (last: ${describeAnswer(last.http)})`,
      failFast: false,
    };
  }
  return { done: false };
}
