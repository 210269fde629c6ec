import { decideDatabaseRestore, rowsOnlyInSnapshot, type SnapshotResult } from '../deploy/decide.js';
import { helperName, removeHelperStep } from '../backup/helper-containers.js';
import type { Log } from '../log.js';
import { readMigrationFacts } from '../migrations/read.js';
import type { RemoteHost } from '../remote-host.js';
import type { PartOutcome } from '../restore/outcome.js';
import type { MigrateBackPlan, RestorePlan, SetOnHost } from '../restore/plan.js';
import { readCarryOver } from '../carry-over/read.js';
import type { Settings } from '../settings.js';
import { restoreDatabase, type CarryOver, type RestoredDatabase } from './restore.js';
import { runStep } from './run-step.js';

/**
 * The database part of a rollback, with the service stopped and the snapshot taken: kept, migrated
 * back, or restored, as decided now from the snapshot and the set's record of the release after it.
 * A migrate-back that fails (or whose check does not show the set's state) falls back to the restore.
 */
export async function rollBackDatabase(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  plan: RestorePlan & { database: NonNullable<RestorePlan['database']> },
  snapshot: SnapshotResult,
  /** The pre-restore snapshot as a set: the replaced database the carry-over reads. */
  snapshotSet: SetOnHost | null,
  stoppedId: string | null,
  /** The snapshot left its SQLite helper running for the restore (see sqliteStep). */
  helperLeft = false,
): Promise<{ parts: PartOutcome[]; notes: string[] }> {
  // The restore's step works in the helper and removes it; any other way out removes it here, before
  // the service is started again.
  const handed = { over: false };
  try {
    return await databasePart(host, settings, log, plan, snapshot, snapshotSet, stoppedId, handed);
  } finally {
    if (helperLeft && !handed.over)
      await runStep(host, removeHelperStep(helperName(plan.snapshotId)), log).catch(() => undefined);
  }
}

async function databasePart(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  plan: RestorePlan & { database: NonNullable<RestorePlan['database']> },
  snapshot: SnapshotResult,
  snapshotSet: SetOnHost | null,
  stoppedId: string | null,
  handed: { over: boolean },
): Promise<{ parts: PartOutcome[]; notes: string[] }> {
  const m = plan.target.manifest;
  const decision = decideDatabaseRestore(
    plan.database.mode,
    m.database,
    snapshot,
    m.migrations,
    !!plan.migrateBack,
  );
  log.info(`database: ${decision.action}: ${decision.why}`);
  const skipped = (why: string) => ({
    parts: [{ part: 'database' as const, status: 'skipped' as const, name: m.database.kind, why }],
    notes: [],
  });
  if (decision.action === 'keep') return skipped(decision.why);
  if (!stoppedId) return skipped('the service has no container');
  const notes: string[] = [];
  if (decision.action === 'migrate-back') {
    const failed = await migrateBack(host, log, plan.migrateBack!);
    if (!failed) {
      const dropped = snapshot.ok ? rowsOnlyInSnapshot(m.database, snapshot.database) : [];
      return {
        parts: [
          { part: 'schema', status: 'restored', to: plan.migrateBack!.targets, by: plan.migrateBack!.image },
        ],
        notes: [
          `database kept: ${decision.why}`,
          ...(dropped.length
            ? [
                `rows the previous version has no table for (tables the release added) are only in the snapshot ${plan.snapshotId}: ${dropped.map((d) => `${d.table} ${d.rows}`).join(', ')}`,
              ]
            : []),
        ],
      };
    }
    notes.push(`migrating back failed (${failed}): the database is restored from ${m.id} instead`);
    log.warning(notes.at(-1)!);
  }
  const carry = carryOverSource(plan, snapshotSet);
  try {
    handed.over = true;
    const r = await restoreDatabase(
      host,
      settings,
      log,
      plan.target,
      stoppedId,
      plan.snapshotId,
      carry.source ?? undefined,
    );
    const aside = r.aside && !r.detail.includes(r.aside) ? `; the replaced data is kept as ${r.aside}` : '';
    const restored: PartOutcome = { part: 'database', status: 'restored', account: r.detail + aside };
    return { parts: [restored, ...carriedPart(m, carry, r.carried)], notes };
  } catch (err) {
    log.warning(`database restore failed: ${(err as Error).message}`);
    const why = (err as Error).message.split('\n')[0] ?? '';
    return { parts: [{ part: 'database', status: 'failed', name: m.database.kind, why }], notes };
  }
}

type CarrySource = { source: CarryOver | null; failed: string | null };

/**
 * Whether a restore carries the writes made since the set over, and from what: the pre-restore
 * snapshot's copy of the replaced database (SQLite), or the live one before it is replaced (PostgreSQL).
 * Only after a restore decided by plan; the snapshot must hold the replaced database (the report's place,
 * and the rows' if the carry-over fails).
 */
function carryOverSource(plan: RestorePlan, snapshotSet: SetOnHost | null): CarrySource {
  const m = plan.target.manifest;
  const none = { source: null, failed: null };
  // The plan decided it (carry-over input, restore-database auto, a restore by plan, a database).
  if (!plan.carryOver) return none;
  const replaced = snapshotSet?.manifest.files.find((f) => f.role === 'database');
  if (!snapshotSet || !replaced)
    return { ...none, failed: 'the pre-restore snapshot holds no copy of the replaced database' };
  const report = `${snapshotSet.dir}/carry-over.json`;
  // PostgreSQL reads the live database, not replaced yet; its dump in the snapshot is the fallback.
  if (m.database.kind === 'postgres') return { ...none, source: { report } };
  return {
    ...none,
    source: { replacedFile: `${snapshotSet.dir}/${replaced.path}`, replacedSha256: replaced.sha256, report },
  };
}

/**
 * The carry-over's part of the outcome. A failed one left the restored database as restored (its
 * transaction never committed): the rollback is incomplete, the rows are in the snapshot.
 */
function carriedPart(
  m: RestorePlan['target']['manifest'],
  c: CarrySource,
  carried: RestoredDatabase['carried'],
): PartOutcome[] {
  const kind = m.database.kind;
  if (c.failed) return [{ part: 'carry-over', status: 'failed', name: kind, why: c.failed }];
  if (!c.source) return [];
  if (!carried?.ok)
    return [{ part: 'carry-over', status: 'failed', name: kind, why: carried?.why ?? 'no carry-over ran' }];
  const read = readCarryOver(carried.report);
  if (!read.ok) return [{ part: 'carry-over', status: 'failed', name: kind, why: read.why }];
  return [
    {
      part: 'carry-over',
      status: 'restored',
      from: m.id,
      tables: read.tables,
      listed: read.listed,
      report: c.source.report,
    },
  ];
}

/** '' when the release's migrations were undone and Django reports the set's state again; else why not. */
async function migrateBack(host: RemoteHost, log: Log, p: MigrateBackPlan): Promise<string> {
  try {
    await log.group(p.step.title, () => runStep(host, p.step, log));
    const out = (await log.group('Check the migration state', () => runStep(host, p.check, log))).toString();
    const read = readMigrationFacts(out);
    if (!read.ok) return read.why;
    const wrong = Object.entries(p.expected).filter(
      ([app, want]) => JSON.stringify(read.facts.applied[app] ?? []) !== JSON.stringify(want),
    );
    if (wrong.length)
      return `Django reports ${wrong.map(([app]) => `${app} at ${(read.facts.applied[app] ?? ['zero']).join(', ')}`).join('; ')}`;
    const recorded = new Set((read.facts.unknown ?? []).map((m) => `${m.app}.${m.name}`));
    const still = p.undone.filter((m) => recorded.has(m));
    return still.length ? `Django still records ${still.join(', ')} as applied` : '';
  } catch (err) {
    // The image's own error output is app output: only the step and its status are said.
    return (err as Error).message.split('\n')[0] ?? 'unknown';
  }
}
