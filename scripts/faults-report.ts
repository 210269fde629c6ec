/**
 * Prints the fault-injection report: one row per fault of RELIABILITY.md's table with the outcome the
 * suite observed (every row required; row 20 with its kills during a reverse migration and during a
 * carry-over on each database), then the
 * kill-at-random tally (absent from a short run, FAULTS_SHORT=1). Exits non-zero when a row is missing or
 * unsafe, or when any invariant was violated: the report is a check, not a decoration.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, RESULTS_DIR, type FaultResult, type RandomTally } from '../__tests__/faults/fault.js';

const ROWS = 22;
/** Rows after this one are reported when run and said to be not yet injected otherwise. */
const REQUIRED = 22;
const results: FaultResult[] = existsSync(RESULTS)
  ? readFileSync(RESULTS, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FaultResult)
  : [];
// One tally per seed (random-<seed>.json); a tally that cannot be read is itself a problem.
const randomFiles = existsSync(RESULTS_DIR)
  ? readdirSync(RESULTS_DIR).filter((f) => /^random-\d+\.json$/.test(f))
  : [];

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const lines = [
  '# Fault injection report',
  '',
  '| # | fault | outcome | observed | s |',
  '|---|---|---|---|---|',
];
let bad = 0;
for (let row = 1; row <= ROWS; row++) {
  // Every fault of the row (a row can have several); the last run of each counts.
  const byTitle = new Map(results.filter((x) => x.row === row).map((x) => [x.fault, x]));
  if (!byTitle.size) {
    if (row > REQUIRED) {
      lines.push(`| ${row} | (not injected yet) | — | | |`);
      continue;
    }
    bad++;
    lines.push(`| ${row} | (not run) | **NOT RUN** | | |`);
    continue;
  }
  for (const r of byTitle.values()) {
    if (r.outcome !== 'safe') bad++;
    lines.push(
      `| ${row} | ${cell(r.fault)} | ${r.outcome === 'safe' ? 'safe' : '**UNSAFE**'} | ${cell(r.observed)} | ${r.seconds} |`,
    );
  }
}
lines.push('', '## Kill at random points', '');
// The short run (npm test, CI) injects every row but searches no random points: said, not failed.
const shortRun = process.env.FAULTS_SHORT === '1';
if (!randomFiles.length && shortRun) {
  lines.push('not run: the short run (`npm test`) injects the rows only; `npm run faults` kills at random');
} else if (!randomFiles.length) {
  bad++;
  lines.push('**not run**');
} else {
  lines.push(
    '| seed | iterations | faults injected mid-operation | kills after the operation ended | invariant violations | seconds |',
    '|---|---|---|---|---|---|',
  );
  const total = { iterations: 0, faults: 0, after: 0, violations: 0, seconds: 0 };
  const details: string[] = [];
  const byOp: Record<string, number> = {};
  const byMode: Record<string, number> = {};
  for (const f of randomFiles) {
    let r: RandomTally;
    try {
      r = JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as RandomTally;
    } catch (err) {
      bad++;
      lines.push(`| ${f} | **unreadable tally** (${cell((err as Error).message)}) | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.seed} | ${r.iterations} | ${r.faultsInjected} | ${r.killsAfterTheEnd} | ${r.violations} | ${r.seconds} |`,
    );
    total.iterations += r.iterations;
    total.faults += r.faultsInjected;
    total.after += r.killsAfterTheEnd;
    total.violations += r.violations;
    total.seconds += r.seconds;
    details.push(...r.details);
    for (const [k, v] of Object.entries(r.byOp)) byOp[k] = (byOp[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.byMode)) byMode[k] = (byMode[k] ?? 0) + v;
  }
  lines.push(
    `| **all** | **${total.iterations}** | ${total.faults} | ${total.after} | **${total.violations}** | ${total.seconds} |`,
    '',
    `By operation: ${Object.entries(byOp)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. By kill: ${Object.entries(byMode)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  if (total.violations) {
    bad++;
    lines.push('', 'Violations:', ...details.map((d) => `- ${d}`));
  }
}
const text = `${lines.join('\n')}\n`;
writeFileSync(join(RESULTS_DIR, 'report.md'), text);
process.stdout.write(text);
if (bad) {
  process.stderr.write(`fault report: ${bad} problem(s): missing or unsafe rows, or invariant violations\n`);
  process.exit(1);
}
