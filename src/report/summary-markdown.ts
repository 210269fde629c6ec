/** Markdown pieces shared by the step summaries. Pure: the edge writes the summary. */

export function bytes(n: number): string {
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

export const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

type CheckRow = { check: string; ok: boolean; detail: string };

export function checkTable(rows: readonly CheckRow[]): string[] {
  return [
    '| check | result | detail |',
    '|---|---|---|',
    ...rows.map((c) => `| ${cell(c.check)} | ${c.ok ? '✅' : '❌'} | ${cell(c.detail)} |`),
  ];
}
