import type Docker from 'dockerode';
import { demultiplex } from './docker-frames.js';
import { runLike, type RunLikeSpec, type RunResult } from './docker-run-like.js';

export interface MountInfo {
  type: string;
  /** Volume name for named volumes, '' for bind mounts. */
  name: string;
  source: string;
  destination: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  /** The reference the container was created from, e.g. registry/eqmd:v1. */
  image: string;
  imageId: string;
  running: boolean;
  restarting: boolean;
  status: string;
  exitCode: number;
  restartCount: number;
  /** Docker healthcheck status: '' when the image/service defines none. */
  health: '' | 'starting' | 'healthy' | 'unhealthy';
  created: string;
  networkMode: string;
  /** Published ports: host port → container port ('8000/tcp'). */
  ports: { hostPort: number; containerPort: string }[];
  labels: Record<string, string>;
  mounts: MountInfo[];
  /** Network name → the container's IPv4 address on it ('' when it has none). */
  networks: Record<string, string>;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

/** The few Docker Engine API calls the operations need, so they can be faked in unit tests. */
export interface DockerApi {
  /** Containers (running or not) of one compose service, by compose's labels. */
  serviceContainers(project: string, service: string): Promise<ContainerInfo[]>;
  inspectContainer(id: string): Promise<ContainerInfo>;
  /** null when the image is not on the host. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  volumeExists(name: string): Promise<boolean>;
  /**
   * Whether `path` in the container, running or stopped, is there and not a directory: the engine's
   * archive stat (it mounts a stopped container's volumes), so no process or helper container runs.
   */
  fileExists(id: string, path: string): Promise<boolean>;
  /** Stops a container (SIGTERM, then SIGKILL after the timeout), as `compose stop` does for each. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Starts an existing container as it was created (no recreate). */
  startContainer(id: string): Promise<void>;
  /** The last lines the container logged (stdout and stderr), for failure reports. */
  logTail(id: string, lines: number): Promise<string>;
  /** Runs a command once beside the running container `like`, as its service would (see runLike). */
  runLike(like: string, spec: RunLikeSpec): Promise<RunResult>;
}

/** DockerApi on dockerode (whose transport the SSH host provides). */
export function dockerApiFrom(docker: Docker): DockerApi {
  const inspectContainer = async (id: string): Promise<ContainerInfo> => {
    const c = await docker.getContainer(id).inspect();
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      imageId: c.Image,
      running: c.State.Running,
      restarting: c.State.Restarting,
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      restartCount: c.RestartCount ?? 0,
      health: ((c.State as { Health?: { Status?: string } }).Health?.Status ?? '') as ContainerInfo['health'],
      created: c.Created,
      networkMode: c.HostConfig.NetworkMode ?? '',
      ports: Object.entries(c.HostConfig.PortBindings ?? {}).flatMap(([containerPort, bindings]) =>
        ((bindings as { HostPort?: string }[] | null) ?? []).map((b) => ({
          hostPort: Number(b.HostPort),
          containerPort,
        })),
      ),
      labels: c.Config.Labels ?? {},
      networks: Object.fromEntries(
        Object.entries(c.NetworkSettings?.Networks ?? {}).map(([n, v]) => [n, v.IPAddress ?? '']),
      ),
      mounts: (c.Mounts ?? []).map((m) => ({
        type: m.Type ?? '',
        name: m.Name ?? '',
        source: m.Source,
        destination: m.Destination,
      })),
    };
  };
  return {
    async serviceContainers(project, service) {
      const found = await docker.listContainers({
        all: true,
        filters: {
          label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`],
        },
      });
      return Promise.all(found.map((c) => inspectContainer(c.Id)));
    },
    inspectContainer,
    runLike: (like, spec) => runLike(docker, like, spec),
    async inspectImage(ref) {
      try {
        const i = await docker.getImage(ref).inspect();
        return { id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return null;
        throw err;
      }
    },
    async stopContainer(id, timeoutSeconds) {
      try {
        await docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (err) {
        // 304: already stopped — the state we want.
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    },
    async startContainer(id) {
      try {
        await docker.getContainer(id).start();
      } catch (err) {
        // 304: already running — the state we want.
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      }
    },
    async logTail(id, lines) {
      const raw = (await docker
        .getContainer(id)
        .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as Buffer;
      return demultiplex(raw);
    },
    async fileExists(id, path) {
      try {
        const res = (await docker.getContainer(id).infoArchive({ path })) as {
          headers: Record<string, string | string[] | undefined>;
          resume?: () => void;
        };
        res.resume?.();
        // Host data, read like input: base64 JSON whose mode is Go's FileMode (bit 31: a directory).
        const stat = res.headers['x-docker-container-path-stat'];
        if (typeof stat !== 'string') return false;
        const { mode } = JSON.parse(Buffer.from(stat, 'base64').toString('utf8')) as { mode?: unknown };
        return typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode < 2 ** 31;
      } catch (err) {
        // 404: no such path (the container itself was just inspected).
        if ((err as { statusCode?: number }).statusCode === 404) return false;
        if (err instanceof SyntaxError) return false;
        throw err;
      }
    },
    async volumeExists(name) {
      try {
        await docker.getVolume(name).inspect();
        return true;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return false;
        throw err;
      }
    },
  };
}
