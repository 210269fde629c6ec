import { argv, bashScript, quote } from '../shell.js';
import { helperLabelArgs, type HelperOwner } from './helper-containers.js';
import type { SetPaths } from './set-paths.js';
import type { Step } from './steps.js';

export interface VolumeToArchive {
  /** The Docker volume name, e.g. eqmd-a_media_files. */
  name: string;
  /** Where the service mounts it ('' when it does not). */
  mountpoint: string;
}

/**
 * Archives a volume with the engine's archive endpoint (`docker cp`) from a created-but-never-started
 * container of an image already on the host: no helper image has to be pulled, nothing runs.
 */
export function volumeStep(
  p: SetPaths,
  volume: VolumeToArchive,
  helperImage: string,
  owner: HelperOwner,
): Step {
  const dest = `${p.tmp}/volumes/${volume.name}.tar`;
  // One per volume: the volumes of a set are archived side by side.
  const name = `eqmd-rollback-archive-${owner.id}-${volume.name}`;
  return {
    title: `Archive volume ${volume.name} and list the archive`,
    command: bashScript([
      `mkdir -p ${quote(`${p.tmp}/volumes`)}`,
      // Named, and the trap first: a create cut short leaves nothing the trap cannot find.
      `trap ${quote(`docker rm -f ${name} >/dev/null 2>&1 || true`)} EXIT`,
      `docker rm -f ${name} >/dev/null 2>&1 || true`,
      `${argv('docker', 'create', '--name', name, ...helperLabelArgs(owner), '--network', 'none', '--entrypoint', 'true', '-v', `${volume.name}:/eqmd-volume:ro`, helperImage)} >/dev/null`,
      `docker cp ${name}:/eqmd-volume - > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `tar -tvf ${quote(dest)} | awk '{n++; if ($1 ~ /^-/) b += $3} END {print "entries=" n+0; print "content_bytes=" b+0}'`,
    ]),
  };
}
