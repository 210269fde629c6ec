/** The step summaries of a run with no result of its own to show: a dry run's plan, or a stop. */

/**
 * A run that stopped before its work was done. A refusal is decided before anything changes (that is
 * what refusing means here); an error may have stopped a step half-way, which the post step and a
 * re-run clean up.
 */
export function exitSummary(command: string, result: 'refused' | 'failed', message: string): string {
  return [
    `## eqmd-rollback: ${command} ${result === 'refused' ? '⛔ refused' : '❌ stopped on an error'}`,
    '',
    '```',
    message.replace(/```/g, "'''"),
    '```',
    '',
    result === 'refused'
      ? 'Nothing was changed on the host.'
      : 'The steps that ran are in the log. A half-written backup set and the host lock are removed by the post step; a re-run of this workflow run finishes or undoes what was begun.',
    '',
  ].join('\n');
}

export function planSummary(command: string, plan: string): string {
  return [`## eqmd-rollback: ${command} (dry run — nothing changed)`, '', '```', plan, '```', ''].join('\n');
}
