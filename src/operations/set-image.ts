import { RefusedError, RemoteCommandError } from '../errors.js';
import type { Log } from '../log.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { pullByDigestStep } from '../restore/image.js';
import { runStep } from './run-step.js';

/**
 * Makes sure the image a set would put back is on the host before anything is stopped: a deleted
 * backup tag found after the service is down would leave nothing to start. Pulls by recorded digest
 * when it can; otherwise refuses with the service untouched.
 */
export async function ensureSetImage(host: RemoteHost, log: Log, m: Manifest): Promise<void> {
  const tagged = await host.docker.inspectImage(m.image.backupTag);
  if (tagged?.id === m.image.id) return;
  const what = `the image of backup set ${m.id} (${m.image.reference}, ${m.image.id.slice(0, 19)})`;
  const digests = m.image.repoDigests ?? [];
  log.warning(
    `${what} is no longer on the host under ${m.image.backupTag}` +
      (digests.length ? '; pulling it by its recorded digest' : ''),
  );
  if (!digests.length)
    throw new RefusedError(
      `${what} was deleted from the host and the set records no registry digest to pull it by; nothing was changed`,
    );
  try {
    const out = await runStep(host, pullByDigestStep(digests, m.image.id, m.image.backupTag), log);
    log.info(
      `restored ${m.image.backupTag} from ${out
        .toString()
        .trim()
        .replace(/^pulled=/, '')}`,
    );
  } catch (err) {
    const detail = err instanceof RemoteCommandError ? err.stderrTail.trim() : (err as Error).message;
    throw new RefusedError(
      `${what} was deleted from the host and could not be pulled by digest (${detail.replace(/\n/g, '; ')}); nothing was changed`,
    );
  }
}
