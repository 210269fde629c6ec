import { readManifestsStep } from '../backup/stored-sets.js';
import type { Log } from '../log.js';
import { summarize, type Manifest, type SetSummary } from '../manifest.js';
import { parseManifestListing } from '../manifest-read.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { gatherFacts } from './facts.js';
import { runStep } from './run-step.js';

/**
 * Reads the sets of one project and service. Sets of other instances sharing the directory are left
 * out, never shown or pruned; directories that are not readable sets are reported by name.
 */
export async function readSets(
  host: RemoteHost,
  backupDir: string,
  project: string,
  service: string,
  log: Log,
): Promise<{ sets: Manifest[]; unreadable: string[] }> {
  const parsed = parseManifestListing(await runStep(host, readManifestsStep(backupDir), log));
  const sets: Manifest[] = [];
  const unreadable: string[] = [];
  for (const p of parsed) {
    if (!p.ok) unreadable.push(`${p.dir}: ${p.problem}`);
    else if (p.manifest.project === project && p.manifest.service === service) sets.push(p.manifest);
  }
  sets.sort((a, b) =>
    a.created === b.created ? b.id.localeCompare(a.id) : b.created.localeCompare(a.created),
  );
  return { sets, unreadable };
}

export interface ListOutcome {
  project: string;
  backupDir: string;
  sets: SetSummary[];
  unreadable: string[];
}

export async function list(host: RemoteHost, settings: Settings, log: Log): Promise<ListOutcome> {
  const facts = await gatherFacts(host, settings, log);
  const { sets, unreadable } = await readSets(
    host,
    facts.backupDir,
    facts.project,
    settings.app.service,
    log,
  );
  for (const u of unreadable) log.warning(`not a readable backup set: ${u}`);
  return { project: facts.project, backupDir: facts.backupDir, sets: sets.map(summarize), unreadable };
}
