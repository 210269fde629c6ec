import { appOutputMarkdown } from './app-output.js';
import { checksLine, dataRestored, type RunEvent } from './event.js';
import { carriedOver, rowsCarried } from '../restore/outcome.js';

/** Where and when the incident happened, for the note's header. */
export interface IncidentContext {
  /** ISO time the note was written (the end of the run). */
  at: string;
  runUrl: string;
  actor: string;
  repository: string;
  environment: string;
  projectDir: string;
  artifactName: string;
}

/**
 * The "document the incident" step, written for the operator who was not watching the run: what failed,
 * what the probe answered, what was restored, which writes are no longer live, and how to undo the
 * rollback. Markdown, uploaded with the manifest. Pure.
 */
export function incidentNote(e: RunEvent, ctx: IncidentContext): string {
  const what =
    e.command === 'deploy'
      ? `Deploy of ${e.requested} failed and was rolled back automatically`
      : `Rollback to ${e.requested}`;
  return [
    `# Incident: ${what}`,
    '',
    `- When: ${ctx.at}`,
    `- Where: ${ctx.repository || '(repository unknown)'}${ctx.environment ? `, environment ${ctx.environment}` : ''}, project ${ctx.projectDir}`,
    `- Who: ${ctx.actor || '(unknown)'}`,
    `- Run: ${ctx.runUrl || '(not a GitHub Actions run)'}`,
    `- Before: \`${e.previousImage}\`; now running: \`${e.runningImage}\` (${e.healthy ? 'healthy' : '**NOT healthy**'})`,
    '',
    '## What failed',
    '',
    ...whatFailed(e),
    '',
    '## What was restored',
    '',
    ...(e.restored.length ? e.restored.map((r) => `- ${r}`) : ['- nothing']),
    ...(e.restoredFrom
      ? ['', `From backup set \`${e.restoredFrom.id}\` (taken ${e.restoredFrom.created}).`]
      : []),
    ...(e.afterChecks.length
      ? [
          '',
          `Verification of the restored version: ${e.afterChecks.every((c) => c.ok) ? 'passed' : `FAILED (${checksLine(e.afterChecks.filter((c) => !c.ok))})`}.`,
        ]
      : []),
    '',
    '## Data-loss window',
    '',
    ...dataLossWindow(e),
    '',
    '## How to undo the rollback',
    '',
    ...howToUndo(e),
    ...(e.notes.length ? ['', '## Notes', '', ...e.notes.map((n) => `- ${n}`)] : []),
    '',
    `The manifest of the backup sets is in the artifact \`${ctx.artifactName}\`, next to this note.`,
    '',
  ].join('\n');
}

function whatFailed(e: RunEvent): string[] {
  if (e.command === 'rollback' && !e.failedChecks.length && !e.failure) {
    return ['Nothing in this run: the rollback was asked for by the operator.'];
  }
  return [
    e.failure || '(no failure recorded)',
    ...(e.failedChecks.length
      ? [
          '',
          '| failed check | detail |',
          '|---|---|',
          ...e.failedChecks.map((c) => `| ${cell(c.check)} | ${cell(c.detail)} |`),
        ]
      : []),
    ...(e.probe ? ['', `Last probe answer: ${e.probe.lastAnswer}. Container: ${e.probe.container}.`] : []),
    ...appOutputMarkdown(e.appOutput),
  ];
}

function dataLossWindow(e: RunEvent): string[] {
  if (!dataRestored(e)) {
    return [
      'None: neither the database nor a volume was restored, so no write was undone (image and env file only).',
    ];
  }
  const since = e.restoredFrom?.created || 'the restored backup set was taken';
  if (!e.undoSet) {
    return [
      `Writes made after ${since} are no longer in the live data. No snapshot set could be made first; ` +
        'where the replaced data was kept aside is listed under "What was restored".',
    ];
  }
  const carried = carriedOver(e.parts);
  if (carried)
    return [
      `Writes made between ${since} (backup set \`${e.restoredFrom?.id ?? '?'}\`) and ${e.undoSet.created} ` +
        `(when the service was stopped for the rollback) were carried over into the restored database: ` +
        `${rowsCarried(carried)} rows` +
        (carried.listed
          ? `; ${carried.listed} could not be carried and are listed with the reason in \`${carried.report}\` on the host.`
          : ', none left out.'),
      `Nothing is lost either way: the snapshot \`${e.undoSet.id}\` (\`${e.undoSet.dir}\`) holds the data as it was just before the rollback.`,
    ];
  return [
    `Writes made between ${since} (backup set \`${e.restoredFrom?.id ?? '?'}\`) and ${e.undoSet.created} ` +
      `(when the service was stopped for the rollback) are no longer in the live data.`,
    `They are not lost: the snapshot \`${e.undoSet.id}\` (\`${e.undoSet.dir}\`) holds the data as it was just before the rollback.`,
  ];
}

function howToUndo(e: RunEvent): string[] {
  if (!e.undoSet) {
    return ['No snapshot of the replaced state exists, so this rollback cannot be undone from a backup set.'];
  }
  // scope app restores the database only when its schema differs; full puts it back whatever happened.
  const scope = e.scope === 'app' || e.scope === '' ? (dataRestored(e) ? 'full' : 'app') : e.scope;
  return [
    `Run this action with \`command: rollback\`, \`backup-id: ${e.undoSet.id}\`, \`scope: ${scope}\`: it puts back ` +
      `what this rollback replaced${e.command === 'deploy' ? ` (the failed release ${e.requested})` : ''}` +
      `${dataRestored(e) ? ', with the writes made in the window above' : ''}.`,
    ...(e.command === 'deploy'
      ? ['Usually the better way forward is to fix the release and deploy a new version.']
      : []),
  ];
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
