import type { Log } from '../../log.js';
import type { MigrationReport } from '../../migrations/classify.js';
import type { RemoteHost } from '../../remote-host.js';
import type { SetOnHost } from '../../restore/plan.js';
import type { Settings } from '../../settings.js';
import type { DeployPlan } from '../../deploy/plan.js';
import type { DeployOptions, DeployResult, TrafficReport } from '../../deploy/result.js';
import type { Slot } from '../../proxy/runtime.js';
import type { Facts } from '../facts.js';
import { withRequestsHeld } from '../proxy-slots.js';
import type { ProxyFacts } from '../proxy.js';
import { currentContainer } from '../service.js';
import { verifyContainer, type VerifyReport } from '../verify.js';

/** The automatic rollback's group title when requests wait at the proxy meanwhile. */
export const HELD_TITLE = 'Automatic rollback (requests held at the proxy)';

/** What a zero-downtime switch starts from: the look at the host, the rollback point, the migrations. */
export interface Context {
  facts: Facts & { proxy: ProxyFacts };
  point: SetOnHost;
  preSet: SetOnHost;
  migrations: MigrationReport | null;
}

/** The service's current container, verified directly. */
export async function verifyService(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  x: Context,
  reference: string,
  clock: () => number,
): Promise<{ report: VerifyReport | null; upError: string }> {
  const c = await currentContainer(host, x.facts.project, settings.app.service);
  if (!c) return { report: null, upError: '' };
  const report = await log.group(`Verify ${reference}`, () =>
    verifyContainer(host, c.id, settings.verify.health, settings.verify, log, clock),
  );
  return { report, upError: '' };
}

/** One zero-downtime switch in progress: what both ways of switching read, and the traffic they count. */
export interface SwitchRun {
  host: RemoteHost;
  settings: Settings;
  log: Log;
  opts: DeployOptions;
  plan: DeployPlan;
  started: DeployResult;
  x: Context;
  traffic: TrafficReport;
  clock: () => number;
}

/** Runs `work` with requests held at the proxy (see withRequestsHeld); the drain is counted. */
export async function heldDuring<T>(
  r: SwitchRun,
  work: () => Promise<T>,
  serving: Slot = 'service',
): Promise<T> {
  const { host, settings, log, x, traffic } = r;
  const h = await withRequestsHeld(
    host,
    x.facts.proxy,
    x.facts.project,
    settings.app.service,
    log,
    settings.deploy.drainTimeoutMs,
    work,
    serving,
  );
  traffic.drainMs += h.drainMs;
  traffic.cut += h.cut;
  return h.value;
}
