import { inProject, type ComposeTarget } from '../compose.js';
import type { ContainerInfo, ImageInfo } from '../docker-api.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import { parseProbe, probeScript, type HostProbe } from '../probe.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { gatherProxyFacts, type ProxyFacts } from './proxy.js';
import { runStep } from './run-step.js';

/** What the host looks like before a plan is made: gathered read-only. */
export interface Facts {
  probe: HostProbe;
  compose: ComposeTarget;
  /** The compose project name as compose itself uses it. */
  project: string;
  /** The service's current container, if it has one. */
  container: ContainerInfo | null;
  image: ImageInfo | null;
  backupDir: string;
  /** strategy zero-downtime: the HAProxy in front of the app (null for other strategies). */
  proxy: ProxyFacts | null;
}

/** Compose's default project name: the directory's base name, lower-cased, without other characters. */
export function defaultProjectName(projectDir: string): string {
  const base = projectDir.split('/').filter(Boolean).pop() ?? '';
  return base.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/**
 * `withProxy`: a deploy or a rollback under strategy zero-downtime also reads the proxy it switches.
 * Other looks (a backup, a snapshot taken mid-operation, list, verify) do not: they never switch it.
 */
export async function gatherFacts(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  { withProxy = false }: { withProxy?: boolean } = {},
): Promise<Facts> {
  const { app } = settings;
  const probe = parseProbe(
    (
      await runStep(host, { title: 'Probe the host', command: probeScript(app, settings.backup.dir) }, log)
    ).toString(),
  );
  if (!probe.projectDirExists)
    throw new RefusedError(`project-dir ${app.projectDir} does not exist on ${host.description}`);
  if (probe.flavor === 'none') {
    throw new RefusedError(`neither \`docker compose\` nor \`docker-compose\` works for ${host.description}`);
  }
  if (!probe.composeFileExists)
    throw new RefusedError(`compose-file ${app.composeFile} not found in ${app.projectDir}`);
  if (!probe.envFileExists) throw new RefusedError(`env-file ${app.envFile} not found in ${app.projectDir}`);

  const containers = await Promise.all(probe.containerIds.map((id) => host.docker.inspectContainer(id)));
  const container = containers.find((c) => c.running) ?? containers[0] ?? null;
  const project =
    container?.labels['com.docker.compose.project'] ||
    app.composeProject ||
    probe.envProjectName ||
    defaultProjectName(app.projectDir);
  const image = container ? await host.docker.inspectImage(container.imageId) : null;
  log.info(
    `${host.description}: compose ${probe.flavor}, project ${project}, service ${app.service}: ` +
      (container ? `${container.name} (${container.status}) running ${container.image}` : 'no container'),
  );
  const proxy =
    withProxy && settings.deploy.strategy === 'zero-downtime'
      ? await gatherProxyFacts(host, project, settings.deploy.haproxyService, log)
      : null;
  return {
    proxy,
    probe,
    compose: {
      flavor: probe.flavor,
      projectDir: app.projectDir,
      composeFile: app.composeFile,
      project,
      envFile: app.envFile,
    },
    project,
    container,
    image,
    backupDir: inProject(app.projectDir, settings.backup.dir),
  };
}
