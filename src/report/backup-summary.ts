import { short } from '../backup/check.js';
import type { Manifest, SetSummary } from '../manifest.js';
import { bytes, cell } from './summary-markdown.js';

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
