import { setTimeout as sleep } from 'node:timers/promises';
import type { Check } from '../backup/check.js';
import type { ContainerInfo } from '../docker-api.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import type { HealthUrl, VerifySettings } from '../settings.js';
import { inContainer, staticFilesCommand } from '../verify/commands.js';
import { describeAnswer, judge, nextProbeDelay, type Observation } from '../verify/judge.js';

/**
 * What the app itself said while it was verified: the last health answer's body, the output of the
 * checks run in its container, its last log lines. It can carry patient data (Django and PostgreSQL
 * errors quote row values), so it is kept apart from the report: on the host and the runner, and
 * published only when publish-app-output says so.
 */
export interface AppOutput {
  healthBody: string;
  commands: { check: string; output: string }[];
  logTail: string;
}

export interface VerifyReport {
  healthy: boolean;
  /** Names, results and details without app output: safe to publish. */
  checks: Check[];
  /** When the health wait ended, in ms from its start; with failFast, well before the timeout. */
  decidedAfterMs: number;
  failFast: boolean;
  /** The last health answer's status (never its body). */
  lastAnswer: string;
  container: string;
  appOutput: AppOutput;
}

export const hasAppOutput = (o: AppOutput): boolean =>
  !!(o.healthBody.trim() || o.logTail.trim() || o.commands.length);

export function healthUrlText(u: HealthUrl): string {
  return u.containerPort
    ? `http://<container>:${u.containerPort}${u.path}`
    : `${u.protocol}//${u.host}:${u.port}${u.path}`;
}

/** The image the switch was to start: the container verified must run it, not merely answer. */
export interface ExpectedImage {
  /** As the operator knows it, e.g. registry/eqmd:v2. */
  reference: string;
  imageId: string;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Whether the container runs the image the switch started, compared by id. */
function imageCheck(container: ContainerInfo | null, expected: ExpectedImage): Check {
  const ok = container?.imageId === expected.imageId;
  return {
    check: `container runs ${expected.reference}`,
    ok,
    detail: !container
      ? 'no container'
      : ok
        ? `image ${shortId(expected.imageId)}`
        : `it runs image ${shortId(container.imageId)}, not ${shortId(expected.imageId)}`,
  };
}

/** Where to ask: the URL as given, or the container itself at its first network address. */
function target(url: HealthUrl, c: ContainerInfo): HealthUrl | null {
  if (!url.containerPort) return url;
  const ip = Object.values(c.networks).find(Boolean);
  return ip ? { ...url, protocol: 'http:', host: ip, port: url.containerPort } : null;
}

/**
 * Verifies one container: health polled to a deadline through the SSH connection, container state,
 * Docker health, then the database check, static files and smoke commands — each its own row.
 * `containerId` is re-inspected on every poll so restarts are seen.
 */
export async function verifyContainer(
  host: RemoteHost,
  containerId: string,
  url: HealthUrl,
  vs: VerifySettings,
  log: Log,
  clock: () => number = Date.now,
  /**
   * After a switch: the image it started. A container still running another one (compose left it in
   * place) fails here, however healthy: the old version answering is no proof the new one runs.
   */
  expected?: ExpectedImage,
): Promise<VerifyReport> {
  const start = clock();
  const history: Observation[] = [];
  let container: ContainerInfo | null = null;
  let verdict = judge([], vs.healthTimeoutMs);
  while (!verdict.done) {
    container = await host.docker.inspectContainer(containerId).catch(() => null);
    const at = container?.running ? target(url, container) : null;
    const http = !container?.running
      ? null
      : at
        ? await host.httpGet(at, Math.min(vs.healthIntervalMs, 5000))
        : { status: 0, body: '', error: 'the container has no network address' };
    history.push({ at: clock() - start, container, http });
    verdict = judge(history, vs.healthTimeoutMs);
    if (!verdict.done) await sleep(nextProbeDelay(history, vs.healthIntervalMs, clock() - start));
  }
  const decidedAfterMs = clock() - start;
  const last = history.at(-1)!;
  const checks: Check[] = [
    { check: `HTTP health ${healthUrlText(url)}`, ok: verdict.healthy, detail: verdict.reason },
    {
      check: 'container running, not restarting',
      ok:
        !!container?.running &&
        !container.restarting &&
        container.restartCount === (history[0]?.container?.restartCount ?? 0),
      detail: container
        ? `${container.status}, exit code ${container.exitCode}, ${container.restartCount} restarts`
        : 'no container',
    },
    ...(expected ? [imageCheck(container, expected)] : []),
    {
      check: 'Docker health status',
      ok: container?.health !== 'unhealthy',
      detail: !container?.health
        ? 'no healthcheck defined'
        : container.health === 'starting'
          ? 'starting (not yet evaluated by Docker)'
          : container.health,
    },
  ];
  const runnable = verdict.healthy && !!container?.running;
  const commands: AppOutput['commands'] = [];
  // The operator's commands run in the app and print the app's text: checks are named by role or
  // index (a command's text can hold a secret or a patient's id), their output is kept apart. The
  // static-files check is this action's own script: its output (the missing names) is a detail.
  const run = async (check: string, command: string, appCommand = true): Promise<Check> => {
    if (!runnable) return { check, ok: false, detail: 'not run: the service is not healthy' };
    const r = await host.exec(command);
    const tail = (r.stderr || r.stdout.toString()).trim().split('\n').slice(-20);
    if (r.code !== 0 && appCommand && tail.join('')) commands.push({ check, output: tail.join('\n') });
    const detail = appCommand ? `exit ${r.code}` : `exit ${r.code}: ${tail.slice(-3).join(' / ')}`;
    return { check, ok: r.code === 0, detail: r.code === 0 ? 'passed' : detail };
  };
  // The database check and the static files only read: they run side by side. The operator's smoke
  // commands run after them, one at a time, in their order (one may rely on another's write).
  checks.push(
    ...(await Promise.all([
      ...(vs.dbCheckCommand
        ? [run('database check (db-check-command)', inContainer(containerId, vs.dbCheckCommand))]
        : []),
      ...(vs.staticFiles.length
        ? [
            run(
              `static files in ${vs.staticPath}: ${vs.staticFiles.join(', ')}`,
              staticFilesCommand(containerId, vs.staticPath, vs.staticFiles),
              false,
            ),
          ]
        : []),
    ])),
  );
  for (const [i, smoke] of vs.smokeCommands.entries())
    checks.push(
      await run(`smoke command ${i + 1} of ${vs.smokeCommands.length}`, inContainer(containerId, smoke)),
    );

  const healthy = checks.every((c) => c.ok);
  const logTail = healthy
    ? ''
    : await host.docker.logTail(containerId, 20).catch((e: Error) => `(no logs: ${e.message})`);
  for (const c of checks) log.info(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
  return {
    healthy,
    checks,
    decidedAfterMs,
    failFast: verdict.done && !verdict.healthy && verdict.failFast,
    lastAnswer: describeAnswer(last.http),
    container: container ? `${container.name} (${container.status})` : 'none',
    appOutput: { healthBody: healthy ? '' : (last.http?.body ?? '').slice(0, 4000), commands, logTail },
  };
}

/** The checks that failed, without those that were only skipped because an earlier one failed. */
export function failedChecks(report: VerifyReport): string {
  return report.checks
    .filter((c) => !c.ok && !c.detail.startsWith('not run'))
    .map((c) => `${c.check}: ${c.detail}`)
    .join('; ');
}
