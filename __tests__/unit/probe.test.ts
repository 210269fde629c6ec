import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseProbe, probeScript } from '../../src/probe.js';
import type { AppSettings } from '../../src/settings.js';

/** The tools the probe may use besides docker: a PATH without this machine's own compose. */
const TOOLS = ['bash', 'sed', 'tail', 'df', 'awk', 'dirname', 'tr', 'cat', 'hostname'];

/**
 * Runs the probe under a real shell with stand-ins: `docker` (v2 answers `compose ps` with `psV2`, or
 * knows no `compose` at all) and, when given, `docker-compose` (v1). Returns the probe read and the
 * docker command lines the script ran.
 */
function probe(o: { v2: 'answers' | 'ps fails' | 'absent'; v1: boolean; composeFile: boolean }) {
  const root = mkdtempSync(join(tmpdir(), 'eqmd-probe-'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const t of TOOLS)
    symlinkSync(
      spawnSync('sh', ['-c', `command -v ${t}`])
        .stdout.toString()
        .trim(),
      join(bin, t),
    );
  const log = join(root, 'calls');
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  tool(
    'docker',
    o.v2 === 'absent'
      ? '[ "$1" != compose ] || { echo "docker: unknown command: docker compose" >&2; exit 1; }'
      : o.v2 === 'ps fails'
        ? 'case "$*" in *" ps "*) echo "invalid compose file" >&2; exit 15;; esac'
        : 'case "$*" in *" ps "*) printf "c0ffee\\nbeef\\n";; esac',
  );
  if (o.v1) tool('docker-compose', 'case "$*" in *" ps "*) echo c1v1;; esac');
  const project = join(root, 'srv');
  mkdirSync(project);
  writeFileSync(join(project, '.env'), 'EQMD_IMAGE="r/eqmd:v1"\n');
  if (o.composeFile) writeFileSync(join(project, 'docker-compose.yml'), 'services: {}\n');
  const app: AppSettings = {
    projectDir: project,
    composeFile: 'docker-compose.yml',
    composeProject: '',
    service: 'eqmd',
    envFile: '.env',
    imageVariable: 'EQMD_IMAGE',
    image: '',
  };
  const r = spawnSync('/bin/sh', ['-c', probeScript(app, 'backups')], { env: { PATH: bin } });
  assert.equal(r.status, 0, r.stderr.toString());
  let calls = '';
  try {
    calls = readFileSync(log, 'utf8');
  } catch {
    // no tool was called
  }
  return { p: parseProbe(r.stdout.toString()), calls };
}

test('the probe tells the compose flavour from the ps it needs, and asks `version` only when ps did not answer', () => {
  // [given, flavour, containers, whether `docker compose version` ran]
  const table: [Parameters<typeof probe>[0], string, string[], boolean][] = [
    [{ v2: 'answers', v1: true, composeFile: true }, 'v2', ['c0ffee', 'beef'], false],
    [{ v2: 'ps fails', v1: true, composeFile: true }, 'v2', [], true],
    [{ v2: 'answers', v1: false, composeFile: false }, 'v2', [], true],
    [{ v2: 'absent', v1: true, composeFile: true }, 'v1', ['c1v1'], true],
    [{ v2: 'absent', v1: true, composeFile: false }, 'v1', [], true],
    [{ v2: 'absent', v1: false, composeFile: true }, 'none', [], true],
  ];
  for (const [given, flavor, containers, askedVersion] of table) {
    const { p, calls } = probe(given);
    const what = JSON.stringify(given);
    assert.equal(p.flavor, flavor, what);
    assert.deepEqual(p.containerIds, containers, what);
    assert.equal(/docker compose version/.test(calls), askedVersion, `${what}: ${calls}`);
    assert.equal(p.composeFileExists, given.composeFile, what);
    assert.equal(p.imageVariable, 'r/eqmd:v1', what);
    assert.ok(p.hostname.length > 0 && p.backupFreeKb > 0, what);
  }
});
