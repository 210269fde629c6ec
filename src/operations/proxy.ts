import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerInfo } from '../docker-api.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import type { Log } from '../log.js';
import { commands, parseLook, runtimeStep, serving, type ProxyLook } from '../proxy/runtime.js';
import type { RemoteHost } from '../remote-host.js';
import type { HealthUrl } from '../settings.js';
import { runStep } from './run-step.js';
import { currentContainer } from './service.js';

/** The proxy in front of the app, as the look before a plan found it. */
export interface ProxyFacts {
  container: ContainerInfo;
  look: ProxyLook;
  /** The port the app listens on in its container, as the proxy's `service` slot names it. */
  appPort: number;
}

/** How long a runtime command may wait for a proxy that is restarting (or that we start again). */
const ANSWER_BOUND_MS = 15_000;

/**
 * One runtime API round trip. A proxy that died mid-switch is restarted by Docker (restart policy) or,
 * when it stays stopped, by us: it comes back with the state saved after the last change, and the
 * command is sent again. Past the bound the error says which proxy did not answer.
 */
export async function proxyCommand(
  host: RemoteHost,
  proxy: Pick<ProxyFacts, 'container'>,
  cmds: string[],
  log: Log,
  save = false,
): Promise<string> {
  const { id, name } = proxy.container;
  const until = Date.now() + ANSWER_BOUND_MS;
  let startedIt = false;
  for (;;) {
    try {
      const out = (await runStep(host, runtimeStep(id, cmds, save), log)).toString();
      log.debug(`HAProxy: ${cmds.join('; ')} -> ${out.trim().slice(0, 300)}`);
      return out;
    } catch (err) {
      if (!(err instanceof RemoteCommandError)) throw err;
      const c = await host.docker.inspectContainer(id).catch(() => null);
      if (!c || Date.now() > until)
        throw new Error(
          `the HAProxy container ${name} ${c ? `(${c.status}) did not answer its runtime API within ${ANSWER_BOUND_MS / 1000} s` : 'is gone'}: ${cmds.join('; ')} was not applied`,
        );
      if (!c.running && !c.restarting && !startedIt) {
        log.warning(
          `the HAProxy container ${name} was ${c.status}: starting it again (it loads the servers' state saved after the last change)`,
        );
        await host.docker.startContainer(id);
        startedIt = true;
      }
      await sleep(300);
    }
  }
}

export async function lookAtProxy(
  host: RemoteHost,
  proxy: Pick<ProxyFacts, 'container'>,
  log: Log,
): Promise<ProxyLook> {
  const read = parseLook(await proxyCommand(host, proxy, commands.look(), log));
  if (!read.ok)
    throw new RefusedError(`the HAProxy in ${proxy.container.name} does not answer as expected: ${read.why}`);
  return read.value;
}

/** Finds the proxy service's container and reads its slots; refuses when it is not set up as the contract says. */
export async function gatherProxyFacts(
  host: RemoteHost,
  project: string,
  service: string,
  log: Log,
): Promise<ProxyFacts> {
  const container = await currentContainer(host, project, service);
  if (!container?.running)
    throw new RefusedError(
      `strategy zero-downtime needs the HAProxy service ${service} running in compose project ${project}; ` +
        (container ? `${container.name} is ${container.status}` : 'it has no container') +
        ' (see examples/zero-downtime)',
    );
  const look = await lookAtProxy(host, { container }, log);
  log.info(
    `HAProxy ${container.name}: service slot ${look.slots.service.addr}:${look.slots.service.port} ` +
      `${serving(look.slots.service) ? 'serving' : 'not serving'}, candidate slot ${serving(look.slots.candidate) ? 'serving' : 'idle'}`,
  );
  return { container, look, appPort: look.slots.service.port };
}

/** The container's address on a network it shares with the proxy: where the proxy reaches it. */
export function addressFor(c: ContainerInfo, proxy: ContainerInfo): string {
  const shared = Object.keys(c.networks).find((n) => n in proxy.networks && c.networks[n]);
  const ip = shared ? c.networks[shared] : '';
  if (!ip)
    throw new Error(
      `${c.name} shares no network with the proxy ${proxy.name} (${Object.keys(c.networks).join(', ') || 'none'} / ${Object.keys(proxy.networks).join(', ') || 'none'})`,
    );
  return ip;
}

/**
 * Behind the proxy every container is verified directly, at its own address on the port the proxy's
 * service slot uses: the health URL names the proxy, which may be holding requests during a switch.
 */
export function behindProxy<S extends { verify: { health: HealthUrl } }>(
  settings: S,
  facts: { proxy: ProxyFacts | null },
): S {
  if (!facts.proxy) return settings;
  const health: HealthUrl = { ...settings.verify.health, containerPort: facts.proxy.appPort };
  return { ...settings, verify: { ...settings.verify, health } };
}
