import type Docker from 'dockerode';

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
  status: string;
  labels: Record<string, string>;
  mounts: MountInfo[];
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
      status: c.State.Status,
      labels: c.Config.Labels ?? {},
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
    async inspectImage(ref) {
      try {
        const i = await docker.getImage(ref).inspect();
        return { id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return null;
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
