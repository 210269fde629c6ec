import type { ContainerInfo } from '../docker-api.js';
import type { RemoteHost } from '../remote-host.js';

/** The service's current container: running first, then newest; `compose run` one-offs excluded. */
export async function currentContainer(
  host: RemoteHost,
  project: string,
  service: string,
): Promise<ContainerInfo | null> {
  const all = (await host.docker.serviceContainers(project, service)).filter(
    (c) => c.labels['com.docker.compose.oneoff'] !== 'True',
  );
  all.sort((a, b) => Number(b.running) - Number(a.running) || b.created.localeCompare(a.created));
  return all[0] ?? null;
}
