/**
 * What a release's migrations do to the previous release, decided from Django's own migration graph
 * before anything changes. Pure: the facts come from `readMigrationPlan`.
 */

/** Mildest first. */
export const MIGRATION_CLASSES = [
  'none',
  'compatible',
  'breaks-old-writes',
  'destructive',
  'irreversible',
] as const;
export type MigrationClass = (typeof MIGRATION_CLASSES)[number];

/** One schema operation as the image's Django reports it. */
export interface OperationFact {
  op: string;
  reversible: boolean;
  /** Field operations: the field may be NULL / has a database-side default (Django 5's db_default). */
  null?: boolean;
  dbDefault?: boolean;
}

export interface MigrationFacts {
  vendor: string;
  /** Per app, the last applied migration(s): the state a rollback returns the schema to. */
  applied: Record<string, string[]>;
  /** The migrations the new release would apply, in order. */
  plan: { app: string; name: string; operations: OperationFact[] }[];
  /**
   * The way back as the image's Django would take it once the release is applied: the migrations that
   * migrating each app to its `applied` state undoes, in order, each with whether it can reverse all of it.
   */
  back: { app: string; name: string; reversible: boolean }[];
  /** Recorded as applied, but the image has no file for them (absent from facts of older scripts). */
  unknown?: { app: string; name: string }[];
}

export interface ClassifiedMigration {
  app: string;
  name: string;
  class: MigrationClass;
  /** Each operation's type and class, in order. */
  operations: { op: string; class: MigrationClass }[];
}

export interface MigrationReport {
  /** The worst class among the migrations ('none' when there is nothing to apply). */
  class: MigrationClass;
  applied: Record<string, string[]>;
  pending: ClassifiedMigration[];
  /**
   * Whether Django's way back was proven before the switch: it undoes exactly the pending migrations,
   * each reversible (absent in records made before 1.2.0).
   */
  reverse?: { proven: boolean; why: string };
}

/** Operations the previous release's code keeps working with: it never reads or writes what changed. */
const COMPATIBLE = new Set([
  'CreateModel',
  'AddIndex',
  'RemoveIndex',
  'AddIndexConcurrently',
  'RemoveIndexConcurrently',
  'RemoveConstraint',
  'AlterModelOptions',
  'AlterModelManagers',
  'AlterIndexTogether',
]);
/** Schema the old code still reads, but whose rules its inserts or updates may now break. */
const BREAKS_OLD_WRITES = new Set(['AddConstraint', 'AlterUniqueTogether', 'AlterOrderWithRespectTo']);

/**
 * An operation's class. Irreversible is what Django cannot undo (RunPython/RunSQL without a reverse).
 * A new NOT NULL column without a database default breaks the old code's inserts (Django drops the
 * default it used to fill existing rows). Anything else that changes or removes existing schema, data
 * migrations included, is destructive: Django can undo the schema, not bring data back. An operation
 * this list does not know is destructive too: unknown is never called safe.
 */
export function classifyOperation(o: OperationFact): MigrationClass {
  if (!o.reversible) return 'irreversible';
  if (o.op === 'AddField') return o.null || o.dbDefault ? 'compatible' : 'breaks-old-writes';
  if (COMPATIBLE.has(o.op)) return 'compatible';
  if (BREAKS_OLD_WRITES.has(o.op)) return 'breaks-old-writes';
  return 'destructive';
}

export const worst = (classes: readonly MigrationClass[]): MigrationClass =>
  classes.reduce<MigrationClass>(
    (w, c) => (MIGRATION_CLASSES.indexOf(c) > MIGRATION_CLASSES.indexOf(w) ? c : w),
    'none',
  );

export function classifyMigrations(facts: MigrationFacts): MigrationReport {
  const pending = facts.plan.map((m) => {
    const operations = m.operations.map((o) => ({ op: o.op, class: classifyOperation(o) }));
    // A migration without operations changes nothing; one is still applied and recorded.
    return { app: m.app, name: m.name, class: worst(operations.map((o) => o.class)), operations };
  });
  return { class: worst(pending.map((m) => m.class)), applied: facts.applied, pending };
}

export const MIGRATION_POLICIES = ['allow', 'refuse-destructive', 'refuse-irreversible'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];

/** The migrations a policy refuses (empty: the deploy may go on). */
export function refusedBy(policy: MigrationPolicy, report: MigrationReport): ClassifiedMigration[] {
  const refused: readonly MigrationClass[] =
    policy === 'refuse-destructive'
      ? ['destructive', 'irreversible']
      : policy === 'refuse-irreversible'
        ? ['irreversible']
        : [];
  return report.pending.filter((m) => refused.includes(m.class));
}

/** `records.0003_remove_patient_notes (destructive: RemoveField)`, for refusals, logs and summaries. */
export const migrationLine = (m: ClassifiedMigration): string =>
  `${m.app}.${m.name} (${m.class}${m.operations.length ? `: ${m.operations.map((o) => o.op).join(', ')}` : ''})`;
