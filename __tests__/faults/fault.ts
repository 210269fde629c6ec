import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { versionTagProblems } from './inject.js';

/**
 * One row of RELIABILITY.md's fault table, injected for real. The body returns what it observed
 * (the safe behaviour, in a few words); a failed assertion is recorded as UNSAFE. Every outcome is
 * appended to the results file that scripts/faults-report.ts turns into the table.
 */
export const RESULTS_DIR = resolve(process.env.FAULTS_DIR ?? join(import.meta.dirname, '../../.faults'));
export const RESULTS = join(RESULTS_DIR, 'results.jsonl');

export interface FaultResult {
  row: number;
  fault: string;
  outcome: 'safe' | 'UNSAFE';
  observed: string;
  seconds: number;
}

/** What one seed of the kill-at-random run leaves in random-<seed>.json for the report. */
export interface RandomTally {
  seed: number;
  iterations: number;
  /** Kills that landed while the operation ran. */
  faultsInjected: number;
  killsAfterTheEnd: number;
  violations: number;
  details: string[];
  byOp: Record<string, number>;
  byMode: Record<string, number>;
  seconds: number;
}

export function record(r: FaultResult): void {
  mkdirSync(dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify(r)}\n`);
}

export function fault(row: number, title: string, body: () => Promise<string>): void {
  test(`#${row} ${title}`, async () => {
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    try {
      const observed = await body();
      const tags = versionTagProblems();
      if (tags.length) throw new Error(`release tags changed: ${tags.join('; ')}`);
      record({ row, fault: title, outcome: 'safe', observed, seconds: seconds() });
    } catch (err) {
      const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
      record({ row, fault: title, outcome: 'UNSAFE', observed: first.slice(0, 300), seconds: seconds() });
      throw err;
    }
  });
}
