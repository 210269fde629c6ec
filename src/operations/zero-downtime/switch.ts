import type { DeployPlan } from '../../deploy/plan.js';
import type { DeployOptions, DeployResult, TrafficReport } from '../../deploy/result.js';
import { RefusedError } from '../../errors.js';
import type { Log } from '../../log.js';
import { serving, SLOTS } from '../../proxy/runtime.js';
import type { RemoteHost } from '../../remote-host.js';
import type { Settings } from '../../settings.js';
import { lookAtProxy } from '../proxy.js';
import { countingHolds } from '../proxy-slots.js';
import { currentContainer } from '../service.js';
import { beside } from './beside.js';
import type { Context } from './context.js';
import { checkFrontDoor } from './front-door.js';
import { held } from './held.js';
import { switchMode } from './mode.js';

/**
 * strategy zero-downtime: the switch goes through the proxy, so no request meets a stopped app.
 * Beside: a candidate of the new version starts next to the running one, is verified directly, takes
 * the traffic while the service is recreated on the new image, and hands it back. Held: the service
 * leaves rotation (in-flight requests finish), requests wait at the proxy while it is recreated, the
 * migrations run and it is verified (and rolled back if it fails), then they are released.
 */
export async function zeroDowntimeSwitch(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  plan: DeployPlan,
  started: DeployResult,
  x: Context,
  clock: () => number,
): Promise<DeployResult> {
  const proxy = x.facts.proxy;
  const { mode, why } = switchMode(x.migrations);
  log.info(
    `zero-downtime switch, ${mode === 'beside' ? 'beside the running version' : 'with requests held'}: ${why}`,
  );
  const traffic: TrafficReport = {
    switch: mode,
    why,
    held: 0,
    longestHoldMs: 0,
    refused: 0,
    drainMs: 0,
    cut: 0,
  };
  const { value: result, ...counted } = await countingHolds(host, proxy, log, async () => {
    try {
      return mode === 'beside'
        ? await beside({ host, settings, log, opts, plan, started, x, traffic, clock })
        : await held({ host, settings, log, opts, plan, started, x, traffic, clock });
    } catch (err) {
      if (err instanceof RefusedError) throw err;
      throw new Error(`${(err as Error).message}. ${await whatRuns(host, settings, x, plan)}`);
    }
  });
  Object.assign(traffic, counted);
  return { ...(await checkFrontDoor(host, settings, log, proxy, result)), traffic };
}

/** What runs after a switch that stopped on an error: the operator's starting point, in one line. */
async function whatRuns(host: RemoteHost, settings: Settings, x: Context, plan: DeployPlan): Promise<string> {
  const parts: string[] = [];
  const service = await currentContainer(host, x.facts.project, settings.app.service).catch(() => null);
  parts.push(
    service
      ? `${settings.app.service} runs ${service.image} (${service.status})`
      : `${settings.app.service} has no container`,
  );
  const candidate = plan.beside
    ? await host.docker.inspectContainer(plan.beside.name).catch(() => null)
    : null;
  if (candidate) parts.push(`the candidate ${candidate.name} runs ${candidate.image} (${candidate.status})`);
  const look = await lookAtProxy(host, x.facts.proxy, silent).catch(() => null);
  parts.push(
    look
      ? `the proxy serves ${SLOTS.filter((s) => serving(look.slots[s])).join(' and ') || 'no slot (requests are held, then refused)'}`
      : `the proxy ${x.facts.proxy.container.name} does not answer`,
  );
  return `What runs now: ${parts.join('; ')}. The backup ${x.preSet.manifest.id} holds the state before the deploy.`;
}

const silent: Log = { info: () => {}, warning: () => {}, debug: () => {}, group: (_t, fn) => fn() };
