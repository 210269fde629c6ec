import type Docker from 'dockerode';
import { frames } from './docker-frames.js';

/** A command to run once in a new container beside a running one (see runLike). */
export interface RunLikeSpec {
  image: string;
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a container's own image sets and what its service set on top, from both configs. */
export interface ConfigPair {
  container: { Env?: string[] | null; User?: string; WorkingDir?: string };
  image: { Env?: string[] | null; User?: string; WorkingDir?: string } | undefined;
}

/**
 * Pure: the environment, user and working dir that a container's service gave it, without what its
 * image set (those are the new image's to set). An entry equal to its image's is the image's (a
 * service that repeats the image's value changes nothing).
 */
export function serviceGiven({ container: c, image: i }: ConfigPair): {
  env: string[];
  user?: string;
  workingDir?: string;
} {
  const fromImage = new Set(i?.Env ?? []);
  return {
    env: (c.Env ?? []).filter((e) => !fromImage.has(e)),
    ...(c.User && c.User !== (i?.User ?? '') ? { user: c.User } : {}),
    ...(c.WorkingDir && c.WorkingDir !== (i?.WorkingDir ?? '') ? { workingDir: c.WorkingDir } : {}),
  };
}

/** Splits Docker's multiplexed log stream into stdout and stderr. */
function split(raw: Buffer): { stdout: string; stderr: string } {
  const f = frames(raw);
  if (!f) return { stdout: raw.toString('utf8'), stderr: '' };
  const of = (stream: 1 | 2) =>
    Buffer.concat(f.filter((x) => x.stream === stream).map((x) => x.data)).toString('utf8');
  return { stdout: of(1), stderr: of(2) };
}

/**
 * Runs a command once in a new container of `spec.image` that shares the network namespace and the
 * volumes of the running container `like`, with the environment, user and working dir its service
 * gave it: what `compose run` of that service would start, without compose's start-up, a network
 * endpoint of its own and the docker CLI (about a second and 1.3 CPU-seconds less here). The
 * environment goes from the engine to the engine through this API: it is on no command line. The
 * container is removed however the run ends; labelled, one left by a killed run is swept.
 */
export async function runLike(docker: Docker, like: string, spec: RunLikeSpec): Promise<RunResult> {
  const c = await docker.getContainer(like).inspect();
  const image = await docker.getImage(c.Image).inspect();
  const given = serviceGiven({ container: c.Config, image: image.Config });
  const created = await docker.createContainer({
    Image: spec.image,
    Entrypoint: spec.entrypoint,
    Cmd: spec.cmd,
    Env: given.env,
    ...(given.user ? { User: given.user } : {}),
    ...(given.workingDir ? { WorkingDir: given.workingDir } : {}),
    Labels: spec.labels,
    Tty: false,
    HostConfig: { NetworkMode: `container:${c.Id}`, VolumesFrom: [c.Id] },
  });
  try {
    await created.start();
    const { StatusCode } = (await created.wait()) as { StatusCode: number };
    const raw = (await created.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    return { code: StatusCode, ...split(raw) };
  } finally {
    await created.remove({ force: true }).catch(() => {});
  }
}
