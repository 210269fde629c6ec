import type { ComposeTarget } from '../compose.js';
import type { Manifest } from '../manifest.js';
import { migrateBackStep, migrationFactsStep } from '../migrations/step.js';
import { undoneWithoutLoss } from '../migrations/way-back.js';
import type { Step } from '../backup/steps.js';

export interface MigrateBackPlan {
  /** `app:migration` (or `app:zero`), per app the release migrated. */
  targets: string[];
  /** The release rolled back from, whose image holds the migrations to undo (as the operator knows it). */
  image: string;
  step: Step;
  check: Step;
  /** Per app, what Django must report applied afterwards: the set's state. */
  expected: Record<string, string[]>;
  /**
   * The release's migrations (`app.name`): none may still be recorded afterwards, whatever the check's
   * image knows. An image without their files reports the set's state while they stay applied.
   */
  undone: string[];
}

/** Pure: the migrate-back step for a set whose next release Django undoes without losing a record, or null. */
export function planMigrateBack(
  compose: ComposeTarget,
  service: string,
  variable: string,
  m: Manifest,
  fromImage: string,
  fromImageName = fromImage,
): MigrateBackPlan | null {
  const mig = m.migrations;
  if (!mig || !undoneWithoutLoss(mig) || !fromImage) return null;
  const apps = [...new Set(mig.pending.map((p) => p.app))];
  // An app with two applied leaves (an unmerged branch) has no single state to go back to.
  if (apps.some((a) => (mig.applied[a] ?? []).length > 1)) return null;
  const targets = apps.map((a) => `${a}:${mig.applied[a]?.[0] ?? 'zero'}`);
  return {
    targets,
    image: fromImageName,
    step: migrateBackStep(
      compose,
      variable,
      fromImage,
      service,
      targets,
      fromImageName === fromImage ? fromImage : `${fromImageName} (as ${fromImage})`,
    ),
    check: migrationFactsStep(compose, variable, fromImage, service),
    expected: Object.fromEntries(apps.map((a) => [a, mig.applied[a] ?? []])),
    undone: mig.pending.map((p) => `${p.app}.${p.name}`),
  };
}
