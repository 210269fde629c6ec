import type { VerifyReport } from '../operations/verify.js';
import { appOutputMarkdown, type AppOutputRef } from './app-output.js';
import { checkTable } from './summary-markdown.js';

export type VerifyView = Pick<
  VerifyReport,
  'healthy' | 'checks' | 'lastAnswer' | 'container' | 'decidedAfterMs' | 'failFast'
>;

/** What a failed verification saw last: the probe's answer, the container, when it was decided. */
export function failureDetails(v: VerifyView): string[] {
  return [
    `Probe: ${v.lastAnswer}. Container: ${v.container}. Decided after ${(v.decidedAfterMs / 1000).toFixed(1)} s${v.failFast ? ' (fail-fast)' : ''}.`,
  ];
}

export function verifySummary(image: string, v: VerifyView, appOutput: AppOutputRef | null = null): string {
  return [
    `## eqmd-rollback: verify ${v.healthy ? '✅ healthy' : '❌ unhealthy'}`,
    '',
    `Image: \`${image}\`.`,
    '',
    ...checkTable(v.checks),
    '',
    ...(v.healthy ? [] : failureDetails(v)),
    ...appOutputMarkdown(appOutput),
    '',
  ].join('\n');
}
