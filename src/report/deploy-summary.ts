import { appOutputMarkdown, type AppOutputRef } from './app-output.js';
import { checkTable } from './summary-markdown.js';
import type { DeployResult } from '../deploy/result.js';
import { migrationLine } from '../migrations/classify.js';
import { rollbackPath } from '../migrations/way-back.js';
import { partsAccount } from '../restore/outcome.js';
import { setRef, type SetRef } from './set-ref.js';
import { trafficMarkdown } from './traffic.js';
import { failureDetails } from './verify-summary.js';

/** The deploy's result as the summary reads it: sets by id and directory, the parts in words. */
export type DeployView = Pick<
  DeployResult,
  | 'ok'
  | 'strategy'
  | 'previousImage'
  | 'deployedImage'
  | 'rolledBack'
  | 'healthy'
  | 'verify'
  | 'rollbackVerify'
  | 'failure'
  | 'timings'
  | 'migrations'
  | 'traffic'
> & {
  preDeploy: SetRef;
  failedState: SetRef | null;
  restored: string[];
  notes: string[];
};

export const deployView = (d: DeployResult): DeployView => ({
  ...d,
  ...partsAccount(d.parts, d.notes),
  preDeploy: setRef(d.preDeploy),
  failedState: d.failedState && setRef(d.failedState),
});

const secs = (ms: number | null): string => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`);

export function deploySummary(
  d: DeployView,
  artifact: string,
  appOutput: AppOutputRef | null = null,
): string {
  const headline = d.ok
    ? `✅ deployed \`${d.deployedImage}\``
    : d.rolledBack
      ? `❌ deploy failed — ${d.healthy ? 'rolled back, previous version healthy' : 'rolled back, but the previous version is NOT healthy'}`
      : `❌ deploy failed — ${d.healthy ? 'production unchanged and healthy' : 'NOT rolled back'}`;
  return [
    `## eqmd-rollback: ${headline}`,
    '',
    `Strategy ${d.strategy}. Previous image \`${d.previousImage}\`; now running \`${d.deployedImage}\`. ` +
      `Pre-deploy backup \`${d.preDeploy.id}\` (\`${d.preDeploy.dir}\`).`,
    '',
    ...migrationsMarkdown(d.migrations),
    ...trafficMarkdown(d.traffic),
    ...(d.verify ? ['### Verification of the new version', '', ...checkTable(d.verify.checks), ''] : []),
    ...(d.ok
      ? []
      : [
          '### What failed',
          '',
          d.failure,
          '',
          ...(d.verify ? failureDetails(d.verify) : []),
          ...appOutputMarkdown(appOutput),
          '',
        ]),
    ...(d.restored.length || d.rolledBack
      ? [
          '### What was restored',
          '',
          ...d.restored.map((r) => `- ${r}`),
          ...(d.failedState
            ? [
                `- the failed state was saved first as backup set \`${d.failedState.id}\` (\`${d.failedState.dir}\`)`,
              ]
            : []),
          '',
        ]
      : []),
    ...(d.rollbackVerify
      ? ['### Verification after the rollback', '', ...checkTable(d.rollbackVerify.checks), '']
      : []),
    ...(d.notes.length ? ['### Notes', '', ...d.notes.map((n) => `- ${n}`), ''] : []),
    `Timings: total ${secs(d.timings.totalMs)}, switch → decision ${secs(d.timings.detectMs)}, recovery ${secs(d.timings.recoveryMs)}. ${artifact}`,
    '',
  ].join('\n');
}

/** The release's migrations as classified before the switch, one line each. */
function migrationsMarkdown(m: DeployView['migrations']): string[] {
  if (!m) return [];
  if (!m.pending.length) return ['No migrations to apply.', ''];
  const back = rollbackPath(m);
  const then =
    back.path === 'keep'
      ? 'the database kept as it is'
      : back.path === 'migrate-back'
        ? 'migrated back with this image, every record kept'
        : 'the database restored from the pre-deploy backup, the writes made since carried over';
  return [
    `### Migrations (${m.class})`,
    '',
    ...m.pending.map((x) => `- ${migrationLine(x)}`),
    '',
    `A rollback by plan (restore-database auto): ${then} (${back.why}).`,
    '',
  ];
}
