import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerInfo } from '../docker-api.js';
import type { Log } from '../log.js';
import { commands, serving, type HoldCounters, type Slot } from '../proxy/runtime.js';
import type { RemoteHost } from '../remote-host.js';
import { addressFor, lookAtProxy, proxyCommand, type ProxyFacts } from './proxy.js';
import { currentContainer } from './service.js';

/** Puts a slot in rotation on this container and waits until the proxy counts it up. */
export async function enableSlot(
  host: RemoteHost,
  proxy: ProxyFacts,
  slot: Slot,
  c: ContainerInfo,
  log: Log,
  boundMs = 10_000,
): Promise<void> {
  await proxyCommand(
    host,
    proxy,
    commands.enable(slot, addressFor(c, proxy.container), proxy.appPort),
    log,
    true,
  );
  const until = Date.now() + boundMs;
  for (;;) {
    const look = await lookAtProxy(host, proxy, log);
    if (serving(look.slots[slot])) return;
    if (Date.now() > until)
      throw new Error(`the proxy did not put slot ${slot} in rotation within ${boundMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * Takes a slot out of rotation: drain (in-flight requests and keep-alive connections finish), wait
 * until none is left or the bound passes, then maintenance. Returns the drain time and how many
 * requests were still in flight when the bound cut them.
 */
export async function retireSlot(
  host: RemoteHost,
  proxy: ProxyFacts,
  slot: Slot,
  log: Log,
  boundMs: number,
): Promise<{ drainMs: number; cut: number }> {
  const start = Date.now();
  await proxyCommand(host, proxy, commands.drain(slot), log, true);
  let cut = 0;
  for (;;) {
    const look = await lookAtProxy(host, proxy, log);
    if (look.slots[slot].current === 0) break;
    if (Date.now() - start > boundMs) {
      cut = look.slots[slot].current;
      log.warning(
        `${cut} request(s) still in flight on slot ${slot} after the ${boundMs / 1000} s drain bound: cut`,
      );
      break;
    }
    await sleep(100);
  }
  await proxyCommand(host, proxy, commands.maint(slot), log, true);
  return { drainMs: Date.now() - start, cut };
}

export async function clearHolds(host: RemoteHost, proxy: ProxyFacts, log: Log): Promise<void> {
  await proxyCommand(host, proxy, commands.clearHolds(), log);
}

export async function holds(host: RemoteHost, proxy: ProxyFacts, log: Log): Promise<HoldCounters> {
  return (await lookAtProxy(host, proxy, log)).holds;
}

/**
 * Runs `run` with the proxy's hold counters cleared first and read after: the requests it held, the
 * longest hold and the 503s, as the proxy counted them (zeros when they cannot be read after).
 */
export async function countingHolds<T>(
  host: RemoteHost,
  proxy: ProxyFacts,
  log: Log,
  run: () => Promise<T>,
): Promise<{ value: T; held: number; longestHoldMs: number; refused: number }> {
  await clearHolds(host, proxy, log);
  const value = await run();
  const h = await holds(host, proxy, log).catch(() => null);
  return { value, held: h?.held ?? 0, longestHoldMs: h?.longestMs ?? 0, refused: h?.refused ?? 0 };
}

/**
 * While `work` runs, no slot serves: the proxy holds new requests (up to its bound, then 503 with
 * Retry-After). Afterwards the service slot serves the service's container, whatever `work` left:
 * when it is unhealthy the proxy's own health checks keep it out, and the hold goes on answering.
 */
export async function withRequestsHeld<T>(
  host: RemoteHost,
  proxy: ProxyFacts,
  project: string,
  service: string,
  log: Log,
  drainBoundMs: number,
  work: () => Promise<T>,
  /** The slot serving now: it drains, then no slot serves. */
  serving: Slot = 'service',
): Promise<{ value: T; drainMs: number; cut: number }> {
  const { drainMs, cut } = await log.group(`Hold new requests at the proxy (drain the ${serving} slot)`, () =>
    retireSlot(host, proxy, serving, log, drainBoundMs),
  );
  let value: T;
  try {
    value = await work();
  } finally {
    const c = await currentContainer(host, project, service);
    if (c?.running) {
      await log.group('Release the held requests to the service', () =>
        enableSlot(host, proxy, 'service', c, log).catch((err: Error) => log.warning(err.message)),
      );
    } else {
      log.warning(`${service} has no running container: the proxy keeps holding, then answers 503`);
    }
  }
  return { value, drainMs, cut };
}
