import { migrationLine } from '../migrations/classify.js';
import { formatPlan } from '../operations/run-step.js';
import type { RestorePlan } from './plan.js';

/**
 * The plan as the dry run prints it: the exact commands in order, the snapshot's own backup steps
 * (`snapshotSteps`, planned from the same look at the host) and the database as its condition.
 */
export function formatRestorePlan(
  plan: RestorePlan,
  x: { service: string; stopping: string; snapshotSteps: string; verify: string },
): string {
  const m = plan.target.manifest;
  const mode = plan.database?.mode;
  const database =
    !plan.database || m.database.kind === 'none'
      ? 'database: not restored (not in this scope)'
      : `database: ${m.database.kind} restored from ${m.id} (into a verified copy, the replaced data kept aside) ` +
        (mode === 'always'
          ? 'always (this scope)'
          : mode === 'never'
            ? '— never (restore-database: never)'
            : "only if the live schema fingerprint no longer matches the set's (restore-database: auto)");
  return [
    formatPlan([plan.check]),
    `then stop ${x.service} (${x.stopping}) and snapshot what will be overwritten as set ${plan.snapshotId}:`,
    x.snapshotSteps,
    'then put back:',
    formatPlan([
      ...(plan.env ? [plan.env] : []),
      ...(plan.pointEnv ? [plan.pointEnv.step] : []),
      ...plan.volumes.map((v) => v.step),
    ]),
    database,
    ...(plan.migrateBack
      ? [
          `if only the release's own reversible migrations (${m.migrations?.pending.map(migrationLine).join('; ') ?? ''}) moved the schema, they are migrated back instead of restored (every record kept), then checked:`,
          formatPlan([plan.migrateBack.step, plan.migrateBack.check]),
        ]
      : []),
    formatPlan([...(plan.retag ? [plan.retag] : []), plan.up]),
    `then ${x.verify}.`,
  ].join('\n');
}
