import type { Step } from '../backup/steps.js';
import { helperLabelArgs } from '../backup/helper-containers.js';
import { argv, bashScript, quote } from '../shell.js';

/**
 * Restores a volume from its archive: emptied (its previous content is in the pre-restore snapshot),
 * then the archive is extracted by tar in a throwaway root container of an image already on the host,
 * keeping numeric owners and modes (the app user must still own its files); the entry count must
 * match the manifest.
 */
export function volumeRestoreStep(x: {
  id: string;
  projectDir: string;
  volume: string;
  archive: string;
  image: string;
  entries: number;
}): Step {
  const inVolume = (script: string, ...extra: string[]) =>
    argv(
      'docker',
      'run',
      '--rm',
      '-i',
      ...helperLabelArgs(x),
      '--user',
      '0',
      '--network',
      'none',
      '-v',
      `${x.volume}:/eqmd-volume`,
      '--entrypoint',
      'sh',
      x.image,
      '-c',
      script,
      ...extra,
    );
  return {
    title: `Restore volume ${x.volume} from its archive`,
    // The expected count and the names are positional parameters ($1 entries, $2 volume): values
    // read from a manifest never become script text.
    command: bashScript(
      [
        inVolume('rm -rf /eqmd-volume/* /eqmd-volume/.[!.]* /eqmd-volume/..?*'),
        `${inVolume('tar -x -p --numeric-owner -f - -C /')} < ${quote(x.archive)}`,
        `n=$(${inVolume('find /eqmd-volume | wc -l')})`,
        '[ "$n" -eq "$1" ] || { echo "volume $2 has $n entries after the restore, the archive listed $1" >&2; exit 1; }',
        'echo "entries=$n"',
      ],
      [String(x.entries), x.volume],
    ),
  };
}
