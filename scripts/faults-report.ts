/**
 * Prints the fault-injection report: one row per fault of RELIABILITY.md's table (1–15) with the
 * outcome the suite observed, then the kill-at-random tally. Exits non-zero when a row is missing or
 * unsafe, or when any invariant was violated: the report is a check, not a decoration.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, RESULTS_DIR, type FaultResult, type RandomTally } from '../__tests__/faults/fault.js';

const ROWS = 15;
const results: FaultResult[] = existsSync(RESULTS)
  ? readFileSync(RESULTS, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FaultResult)
  : [];
const randomPath = join(RESULTS_DIR, 'random.json');
const random = existsSync(randomPath) ? (JSON.parse(readFileSync(randomPath, 'utf8')) as RandomTally) : null;

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const lines = [
  '# Fault injection report',
  '',
  '| # | fault | outcome | observed | s |',
  '|---|---|---|---|---|',
];
let bad = 0;
for (let row = 1; row <= ROWS; row++) {
  const r = results.filter((x) => x.row === row).at(-1);
  if (!r) {
    bad++;
    lines.push(`| ${row} | (not run) | **NOT RUN** | | |`);
    continue;
  }
  if (r.outcome !== 'safe') bad++;
  lines.push(
    `| ${row} | ${cell(r.fault)} | ${r.outcome === 'safe' ? 'safe' : '**UNSAFE**'} | ${cell(r.observed)} | ${r.seconds} |`,
  );
}
lines.push('', '## Kill at random points', '');
if (!random) {
  bad++;
  lines.push('**not run**');
} else {
  lines.push(
    `| iterations | faults injected mid-operation | kills after the operation ended | invariant violations | seconds | seed |`,
    '|---|---|---|---|---|---|',
    `| ${random.iterations} | ${random.faultsInjected} | ${random.killsAfterTheEnd} | ${random.violations} | ${random.seconds} | ${random.seed} |`,
    '',
    `By operation: ${Object.entries(random.byOp)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. By kill: ${Object.entries(random.byMode)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  if (random.violations) {
    bad++;
    lines.push('', 'Violations:', ...random.details.map((d) => `- ${d}`));
  }
}
const text = `${lines.join('\n')}\n`;
writeFileSync(join(RESULTS_DIR, 'report.md'), text);
process.stdout.write(text);
if (bad) {
  process.stderr.write(`fault report: ${bad} problem(s): missing or unsafe rows, or invariant violations\n`);
  process.exit(1);
}
