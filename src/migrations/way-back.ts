/**
 * The way a rollback returns the database from a release, decided from the classification alone (pure):
 * migrated back with the release's image when Django undoes it without losing a record, else restored
 * and the writes made since carried over.
 */
import { migrationLine, worst, type MigrationFacts, type MigrationReport } from './classify.js';

/**
 * Destructive for the previous release's code (it reads the old name), but undone by Django without
 * losing a value: the reverse renames back, and the rows and their values stay where they are.
 */
const UNDONE_WITHOUT_LOSS = new Set(['RenameField', 'RenameModel', 'RenameIndex', 'AlterModelTable']);

const names = (ms: readonly { app: string; name: string }[]): string => {
  const shown = ms.slice(0, 3).map((m) => `${m.app}.${m.name}`);
  return shown.join(', ') + (ms.length > 3 ? ` and ${ms.length - 3} more` : '');
};

/**
 * Proves from the image's own migration graph, before anything changes, that migrating back is
 * available: Django's way back undoes exactly the migrations the release applies (not one applied
 * before it), each reversible, and every app has one recorded state to return to. Why, either way.
 */
export function proveWayBack(facts: MigrationFacts): { proven: boolean; why: string } {
  const key = (m: { app: string; name: string }) => `${m.app}.${m.name}`;
  const forward = new Set(facts.plan.map(key));
  const back = new Set(facts.back.map(key));
  const apps = [...new Set(facts.plan.map((m) => m.app))];
  const problems = [
    ...apps
      .filter((a) => (facts.applied[a] ?? []).length > 1)
      .map((a) => `${a} has ${facts.applied[a]!.length} applied leaves, no single state to return to`),
    ...[facts.back.filter((m) => !forward.has(key(m)))]
      .filter((ms) => ms.length)
      .map((ms) => `migrating back would also undo ${names(ms)}, applied before this release`),
    ...[facts.plan.filter((m) => !back.has(key(m)))]
      .filter((ms) => ms.length)
      .map((ms) => `the way back does not undo ${names(ms)}`),
    ...[facts.back.filter((m) => !m.reversible)]
      .filter((ms) => ms.length)
      .map((ms) => `Django cannot reverse ${names(ms)}`),
  ];
  return problems.length
    ? { proven: false, why: problems.join('; ').slice(0, 1000) }
    : { proven: true, why: `the way back undoes exactly ${names(facts.back)}, each reversible` };
}

/** The classification with the proof of its way back (when it applies anything). */
export const withWayBack = (report: MigrationReport, facts: MigrationFacts): MigrationReport =>
  report.pending.length ? { ...report, reverse: proveWayBack(facts) } : report;

export interface RollbackPath {
  /**
   * keep: nothing to undo, or only additions the previous version does not use. migrate-back: undone
   * with the release's image, every record kept.
   */
  path: 'keep' | 'migrate-back' | 'restore';
  why: string;
}

/**
 * How a rollback by plan would return the database from this release. Kept when every operation is
 * compatible (the previous version runs on the schema as it is). Migrated back when each operation is
 * reversible and either one the old code tolerates or breaks only its writes (what the release added
 * goes, and stays in the snapshot), or a rename; and Django's way back was proven (a
 * record made before that proof existed is taken on its classes). Anything that removes, narrows or
 * rewrites data is restored instead: Django undoes its schema but cannot bring the values back.
 */
export function rollbackPath(report: MigrationReport): RollbackPath {
  if (!report.pending.length) return { path: 'keep', why: 'the release applies no migration' };
  // A record read back from the host that contradicts itself (a class that is not its operations'
  // worst) is not trusted to keep records.
  const consistent =
    report.class === worst(report.pending.map((m) => m.class)) &&
    report.pending.every((m) => m.class === worst(m.operations.map((o) => o.class)));
  if (!consistent) return { path: 'restore', why: 'the recorded classification contradicts itself' };
  if (report.class === 'compatible')
    return {
      path: 'keep',
      why: 'its migrations only add what the previous version does not use: it runs on this schema, every record and value kept',
    };
  const lossy = report.pending.filter(
    (m) =>
      !m.operations.every(
        (o) =>
          o.class === 'compatible' ||
          o.class === 'breaks-old-writes' ||
          (o.class === 'destructive' && UNDONE_WITHOUT_LOSS.has(o.op)),
      ),
  );
  if (lossy.length)
    return {
      path: 'restore',
      why: `${lossy.map(migrationLine).join('; ')} cannot be undone without losing values`,
    };
  if (report.reverse && !report.reverse.proven)
    return { path: 'restore', why: `the way back was not proven before the deploy: ${report.reverse.why}` };
  return {
    path: 'migrate-back',
    why: report.reverse?.why ?? 'its migrations are undone without losing a record',
  };
}

/** Whether migrating the release back keeps every record (see rollbackPath). */
export const undoneWithoutLoss = (report: MigrationReport): boolean =>
  rollbackPath(report).path === 'migrate-back';
