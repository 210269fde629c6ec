import { appOutputMarkdown, type AppOutputRef } from './app-output.js';
import { checkTable } from './summary-markdown.js';
import type { RollbackDone } from '../operations/rollback-result.js';
import { carriedOver, partsAccount, putBackData } from '../restore/outcome.js';
import { setRef, type SetRef } from './set-ref.js';
import { trafficMarkdown } from './traffic.js';
import { failureDetails } from './verify-summary.js';

/** The rollback's result as the summary reads it: the snapshot by id and directory, the parts in words. */
export type RollbackView = Pick<
  RollbackDone,
  | 'mode'
  | 'undid'
  | 'target'
  | 'scope'
  | 'previousImage'
  | 'deployedImage'
  | 'rolledBack'
  | 'healthy'
  | 'verify'
  | 'failure'
  | 'traffic'
> & {
  snapshot: SetRef | null;
  restored: string[];
  notes: string[];
  /** What became of the writes made after the restored set: put back over, carried over, or untouched. */
  laterWrites: 'only-in-snapshot' | 'carried-over' | 'kept';
};

export const rollbackView = (r: RollbackDone): RollbackView => ({
  ...r,
  ...partsAccount(r.parts, r.notes),
  snapshot: r.snapshot && setRef(r.snapshot),
  laterWrites: !putBackData(r.parts) ? 'kept' : carriedOver(r.parts) ? 'carried-over' : 'only-in-snapshot',
});

const LATER_WRITES: Record<RollbackView['laterWrites'], string> = {
  'only-in-snapshot': ' Writes made after the restored set was taken are only in that snapshot.',
  'carried-over':
    ' Writes made after the restored set was taken were carried over (above); the snapshot holds them too.',
  kept: '',
};

export function rollbackSummary(
  r: RollbackView,
  artifact: string,
  appOutput: AppOutputRef | null = null,
): string {
  const ok = !r.failure;
  return [
    `## eqmd-rollback: ${ok ? '✅' : '❌'} ${r.mode === 'undo' ? 'emergency' : r.mode} rollback to ${r.target} (scope ${r.scope})`,
    '',
    ...(r.undid
      ? [
          `The last change was an operator's rollback (its snapshot \`${r.undid}\`): this emergency rollback undid it ` +
            'by deploying the version it replaced again, with the checks and automatic rollback of any deploy. ' +
            'Its migrations ran forward; no records were restored over.',
          '',
        ]
      : []),
    `Before: \`${r.previousImage}\`; now: \`${r.deployedImage}\`; ${r.healthy ? 'healthy' : '**not healthy**'}.`,
    ...(r.failure ? ['', `**Failed:** ${r.failure}`] : []),
    '',
    '### What was restored',
    '',
    ...(r.restored.length ? r.restored.map((x) => `- ${x}`) : ['- nothing']),
    ...(r.snapshot
      ? [
          `- what it replaced was saved first as backup set \`${r.snapshot.id}\` (\`${r.snapshot.dir}\`): ` +
            `roll back to it (backup-id: ${r.snapshot.id}) to undo this rollback.${LATER_WRITES[r.laterWrites]}`,
        ]
      : []),
    '',
    ...trafficMarkdown(r.traffic),
    ...(r.verify ? ['### Verification', '', ...checkTable(r.verify.checks), ''] : []),
    ...(r.verify && !r.verify.healthy ? failureDetails(r.verify) : []),
    ...appOutputMarkdown(appOutput),
    ...(r.notes.length ? ['### Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    artifact,
    '',
  ].join('\n');
}
