import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../manifest.js';
import { failedAppOutput, type LabelledVerify } from '../operations/app-output.js';
import type { VerifyReport } from '../operations/verify.js';
import type { OutputSettings } from '../settings.js';
import { publishable, type AppOutputRef } from './app-output.js';

/**
 * What leaves the runner (artifacts, summaries) is decided here: manifests without the host's address
 * unless asked, verification reports without the app's own output, and that output only where it is
 * kept unless publish-app-output says otherwise.
 */

export function manifestForUpload(m: Manifest, o: Pick<OutputSettings, 'publishHostAddress'>): Manifest {
  return o.publishHostAddress ? m : { ...m, host: { ...m.host, address: '' } };
}

export function reportForUpload(v: VerifyReport | null): Omit<VerifyReport, 'appOutput'> | null {
  if (!v) return null;
  const { appOutput: _kept, ...published } = v; // eslint-disable-line @typescript-eslint/no-unused-vars
  return published;
}

/**
 * Writes the app output of the failed verifications to the runner's work dir (mode 0600, never
 * uploaded) and says where it is kept. With publish-app-output, a capped, masked copy is written for
 * the artifact too, and its text goes into the reports. Null when the app said nothing worth keeping.
 */
export function keepAppOutputOnRunner(
  dir: string,
  parts: readonly LabelledVerify[],
  onHost: string | null,
  o: Pick<OutputSettings, 'publishAppOutput'>,
  secrets: readonly string[],
): { ref: AppOutputRef; uploads: string[] } | null {
  const text = failedAppOutput(parts);
  if (!text) return null;
  const full = join(dir, 'app-output.txt');
  writeFileSync(full, text, { mode: 0o600 });
  const keptAt: AppOutputRef['keptAt'] = [
    ...(onHost ? [{ path: onHost, on: 'host' as const }] : []),
    { path: full, on: 'runner' },
  ];
  if (!o.publishAppOutput) return { ref: { keptAt, published: '' }, uploads: [] };
  const published = publishable(text, secrets);
  const copy = join(dir, 'app-output-published.txt');
  writeFileSync(copy, published);
  return { ref: { keptAt, published }, uploads: [copy] };
}
