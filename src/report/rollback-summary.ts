import { appOutputMarkdown, type AppOutputRef } from './app-output.js';
import { checkTable } from './summary-markdown.js';
import type { RollbackDone } from '../operations/rollback.js';
import { partsAccount } from '../restore/outcome.js';
import { setRef, type SetRef } from './set-ref.js';
import { failureDetails } from './verify-summary.js';

/** The rollback's result as the summary reads it: the snapshot by id and directory, the parts in words. */
export type RollbackView = Pick<
  RollbackDone,
  | 'mode'
  | 'target'
  | 'scope'
  | 'previousImage'
  | 'deployedImage'
  | 'rolledBack'
  | 'healthy'
  | 'verify'
  | 'failure'
> & { snapshot: SetRef | null; restored: string[]; notes: string[] };

export const rollbackView = (r: RollbackDone): RollbackView => ({
  ...r,
  ...partsAccount(r.parts, r.notes),
  snapshot: r.snapshot && setRef(r.snapshot),
});

export function rollbackSummary(
  r: RollbackView,
  artifact: string,
  appOutput: AppOutputRef | null = null,
): string {
  const ok = !r.failure;
  return [
    `## eqmd-rollback: ${ok ? '✅' : '❌'} ${r.mode} rollback to ${r.target} (scope ${r.scope})`,
    '',
    `Before: \`${r.previousImage}\`; now: \`${r.deployedImage}\`; ${r.healthy ? 'healthy' : '**not healthy**'}.`,
    ...(r.failure ? ['', `**Failed:** ${r.failure}`] : []),
    '',
    '### What was restored',
    '',
    ...(r.restored.length ? r.restored.map((x) => `- ${x}`) : ['- nothing']),
    ...(r.snapshot
      ? [
          `- what it replaced was saved first as backup set \`${r.snapshot.id}\` (\`${r.snapshot.dir}\`): ` +
            `roll back to it (backup-id: ${r.snapshot.id}) to undo this rollback. Writes made after the restored set was taken are only in that snapshot.`,
        ]
      : []),
    '',
    ...(r.verify ? ['### Verification', '', ...checkTable(r.verify.checks), ''] : []),
    ...(r.verify && !r.verify.healthy ? failureDetails(r.verify) : []),
    ...appOutputMarkdown(appOutput),
    ...(r.notes.length ? ['### Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    artifact,
    '',
  ].join('\n');
}
