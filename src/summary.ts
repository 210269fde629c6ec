import { short } from './backup/record.js';
import type { Manifest, SetSummary } from './manifest.js';
import type { VerifyReport } from './operations/verify.js';
import { appOutputMarkdown, type AppOutputRef } from './report/app-output.js';

/** Markdown for the step summary. Pure: the edge writes it. */

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function backupSummary(m: Manifest, setDir: string, pruned: string[], artifact: string): string {
  const db =
    m.database.kind === 'none'
      ? 'none'
      : `${m.database.kind} via ${m.database.via}: ${Object.keys(m.database.tables).length} tables, ` +
        `${Object.values(m.database.tables).reduce((a, b) => a + b, 0)} rows, schema ${short(m.database.schemaFingerprint)}`;
  return [
    `## eqmd-rollback: backup ${m.id} ${m.verified ? '✅ verified' : '❌ NOT verified'}`,
    '',
    `Project **${m.project}** (service ${m.service}) on ${m.host.name}${m.host.address ? ` (${m.host.address})` : ''}; reason: ${m.reason}.`,
    `Set: \`${setDir}\`. Image: \`${m.image.reference}\` (${short(m.image.id.replace(/^sha256:/, ''))}), kept as \`${m.image.backupTag}\`.`,
    `Database: ${db}.`,
    '',
    '| file | role | size | sha256 |',
    '|---|---|---|---|',
    ...m.files.map((f) => `| ${cell(f.path)} | ${f.role} | ${bytes(f.bytes)} | \`${short(f.sha256)}\` |`),
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...m.checks.map((c) => `| ${cell(c.check)} | ${c.ok ? '✅' : '❌'} | ${cell(c.detail)} |`),
    '',
    `Total ${bytes(m.totalBytes)}. ${pruned.length ? `Pruned: ${pruned.join(', ')}.` : 'Nothing pruned.'} ${artifact}`,
    '',
  ].join('\n');
}

export function listSummary(
  project: string,
  backupDir: string,
  sets: SetSummary[],
  unreadable: string[],
): string {
  return [
    `## eqmd-rollback: ${sets.length} backup set(s) of ${project}`,
    '',
    `In \`${backupDir}\`.`,
    '',
    '| id | created | reason | image | database | verified | size |',
    '|---|---|---|---|---|---|---|',
    ...sets.map(
      (s) =>
        `| ${s.id} | ${s.created} | ${cell(s.reason)} | \`${cell(s.image)}\` | ${s.database} | ${s.verified ? '✅' : '❌'} | ${bytes(s.bytes)} |`,
    ),
    ...(unreadable.length ? ['', `Not readable as sets: ${unreadable.map(cell).join('; ')}`] : []),
    '',
  ].join('\n');
}

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

type CheckRow = { check: string; ok: boolean; detail: string };

function checkTable(rows: readonly CheckRow[]): string[] {
  return [
    '| check | result | detail |',
    '|---|---|---|',
    ...rows.map((c) => `| ${cell(c.check)} | ${c.ok ? '✅' : '❌'} | ${cell(c.detail)} |`),
  ];
}

export type VerifyView = Pick<
  VerifyReport,
  'healthy' | 'checks' | 'lastAnswer' | 'container' | 'decidedAfterMs' | 'failFast'
>;

function failureDetails(v: VerifyView): string[] {
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

export interface DeployView {
  ok: boolean;
  strategy: string;
  previousImage: string;
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  preDeploy: { id: string; dir: string };
  failedState: { id: string; dir: string } | null;
  verify: VerifyView | null;
  rollbackVerify: VerifyView | null;
  restored: string[];
  notes: string[];
  failure: string;
  timings: { totalMs: number; detectMs: number | null; recoveryMs: number | null };
}

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

export interface RollbackView {
  mode: string;
  target: string;
  scope: string;
  previousImage: string;
  deployedImage: string;
  rolledBack: boolean;
  healthy: boolean;
  snapshot: { id: string; dir: string } | null;
  restored: string[];
  notes: string[];
  verify: VerifyView | null;
  failure: string;
}

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
