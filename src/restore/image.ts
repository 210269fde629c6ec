import type { Step } from '../backup/steps.js';
import { bashScript } from '../shell.js';

/**
 * Gets a set's image back under its backup tag when the tag was deleted from the host: pulled by the
 * digest the manifest recorded (the registry's content address, so it is the same image), then checked
 * against the recorded image id before it is tagged.
 */
export function pullByDigestStep(digests: readonly string[], imageId: string, tag: string): Step {
  return {
    title: `Pull the set's image by digest and keep it as ${tag}`,
    // Manifest values as positional parameters: $1 the image id, $2 the tag, then the digests.
    command: bashScript(
      [
        'want=$1 tag=$2',
        'shift 2',
        'for ref in "$@"; do',
        '  if docker pull -q "$ref" >/dev/null 2>&1; then',
        `    id=$(docker image inspect -f '{{.Id}}' "$ref")`,
        '    if [ "$id" = "$want" ]; then docker tag "$ref" "$tag"; echo "pulled=$ref"; exit 0; fi',
        '    echo "$ref is image $id, not the recorded one" >&2',
        '  else echo "could not pull $ref" >&2; fi',
        'done',
        'exit 1',
      ],
      [imageId, tag, ...digests],
    ),
  };
}
