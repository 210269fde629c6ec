import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../../log.js';
import type { RemoteHost } from '../../remote-host.js';
import type { HealthUrl, Settings } from '../../settings.js';
import type { ProxyFacts } from '../proxy.js';

/**
 * The user's view at the end: the health URL through the proxy answers 200 (polled up to the bound,
 * while the proxy's own health check takes the verified container in).
 */
export async function servesThroughProxy(
  host: RemoteHost,
  url: HealthUrl,
  boundMs = 10_000,
): Promise<{ ok: boolean; answer: string }> {
  const front: HealthUrl = { protocol: url.protocol, host: url.host, port: url.port, path: url.path };
  const until = Date.now() + boundMs;
  for (;;) {
    const a = await host.httpGet(front, 3000);
    if (a.status === 200) return { ok: true, answer: 'HTTP 200' };
    if (Date.now() > until)
      return { ok: false, answer: a.status ? `HTTP ${a.status}` : a.error || 'no answer' };
    await sleep(250);
  }
}

/**
 * A version verified directly is not yet a version users reach: the end state is checked through the
 * proxy too, so a proxy that lost the switch (or still holds) fails the run instead of passing it.
 */
export async function checkFrontDoor<R extends { healthy: boolean; failure: string; notes: string[] }>(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  proxy: ProxyFacts,
  result: R,
  boundMs = 10_000,
): Promise<R> {
  if (!result.healthy) return result;
  const front = await log.group('Check the app through the proxy', () =>
    servesThroughProxy(host, settings.verify.health, boundMs),
  );
  log.info(`through the proxy ${proxy.container.name}: ${front.answer}`);
  if (front.ok) return result;
  const why = `the app is healthy when asked directly, but the proxy ${proxy.container.name} does not serve it (${front.answer}): users are not reaching it`;
  return {
    ...result,
    healthy: false,
    failure: result.failure ? `${result.failure}; ${why}` : why,
    notes: [...result.notes, why],
  };
}
