import { parseKeyValues } from '../backup/key-values.js';
import { pruneStep } from '../backup/stored-sets.js';
import type { Log } from '../log.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { checkSetsStep } from '../restore/checksums.js';
import { chooseSetsToPrune } from '../retention.js';
import type { Settings } from '../settings.js';
import type { Facts } from './facts.js';
import { readSets } from './list.js';
import { runStep } from './run-step.js';

/** Prunes only after the new set verified, and only this project's sets. */
export async function applyRetention(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  facts: Facts,
  made: Manifest,
): Promise<{ pruned: string[]; unreadable: string[]; freedBytes: number }> {
  if (settings.backup.keep === 0) return { pruned: [], unreadable: [], freedBytes: 0 };
  const { sets, unreadable } = await readSets(
    host,
    facts.backupDir,
    facts.project,
    settings.app.service,
    log,
  );
  const ctx = {
    justMade: made.id,
    now: new Date(made.created),
    runningImageId: facts.container?.running ? facts.container.imageId : '',
  };
  let prune = chooseSetsToPrune(sets, settings.backup.keep, ctx);
  let freedBytes = 0;
  if (prune.length) {
    // About to delete: first make sure the sets that stay are intact. A corrupted one does not count
    // as a backup (and is left for an operator to look at, never pruned silently).
    const others = sets.filter((m) => m.verified && m.id !== made.id);
    const out = await runStep(host, checkSetsStep(facts.backupDir, others), log);
    const bad = new Set(
      parseKeyValues(out.toString())
        .filter((x) => x.key === 'bad')
        .map((x) => x.value),
    );
    for (const id of bad) {
      log.warning(`backup set ${id} fails its checksums: not counted as a backup, not pruned; inspect it`);
      unreadable.push(`${id}: fails its checksums`);
    }
    prune = chooseSetsToPrune(
      sets.map((m) => (bad.has(m.id) ? { ...m, verified: false } : m)),
      settings.backup.keep,
      ctx,
    );
  }
  if (prune.length) {
    const out = await runStep(
      host,
      pruneStep(
        facts.backupDir,
        prune.map((m) => ({ id: m.id, tag: m.image.backupTag })),
      ),
      log,
    );
    const warnings = out
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('warning='));
    for (const line of warnings) log.warning(line.slice(8));
    // What the prune gave back to the backup dir's disk; nothing counted if any part of it failed.
    if (!warnings.length) freedBytes = prune.reduce((a, m) => a + m.totalBytes, 0);
  }
  log.info(
    `retention: keep ${settings.backup.keep || 'all'}; ${sets.length - prune.length} kept, ${prune.length} pruned`,
  );
  return { pruned: prune.map((m) => m.id), unreadable, freedBytes };
}
