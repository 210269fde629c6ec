import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';

/** The README's inputs and outputs tables name exactly what action.yml declares: no drift either way. */

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const action = parseYaml(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
};

/** The names in backticks in the first column of the first table under a heading. */
function tableNames(heading: string): string[] {
  const lines = readme.slice(readme.indexOf(`${heading}\n`)).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  return lines
    .slice(first + 2, end)
    .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([a-z][a-z-]*)`/g)].map((m) => m[1]!))
    .sort();
}

test('README documents every input of action.yml, and only those', () => {
  assert.deepEqual(tableNames('### Inputs'), Object.keys(action.inputs).sort());
});

test('README documents every output of action.yml, and only those', () => {
  assert.deepEqual(tableNames('### Outputs'), Object.keys(action.outputs).sort());
});
