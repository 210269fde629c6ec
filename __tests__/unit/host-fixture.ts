import { parseSettings } from '../../src/inputs/parse.js';
import type { Manifest } from '../../src/manifest.js';
import type { Settings } from '../../src/settings.js';
import { appContainer, appImage, FakeHost } from './fake-host.js';

export const SHA = 'a'.repeat(64);

/** A healthy SQLite host; tests override single rules to inject faults. */
export function sqliteHost(existing: Manifest[] = []): FakeHost {
  const host = new FakeHost({
    inspectContainer: async () => appContainer,
    inspectImage: async () => appImage,
  });
  // As readManifestsStep prints it: the uid, then name, `uid mode` and manifest per set.
  const listing =
    ['1001', ...existing.flatMap((m) => [m.id, '1001 2700', JSON.stringify(m)])].join('\0') + '\0';
  host
    .on(/echo "hostname/, {
      stdout:
        'hostname=web1\nflavor=v2\nproject_dir=1\ncompose_file=1\nenv_file=1\nimage_variable=registry.local/eqmd:v1\nbackup_free_kb=999999\ncontainers=c0ffee\n',
    })
    .on(/report=/, {
      stdout: `report=${JSON.stringify({ integrity: 'ok', tables: { records_patient: 50 }, schema: SHA, sha256: SHA, bytes: 4096 })}\n`,
    })
    .on(/docker cp/, { stdout: 'entries=3\ncontent_bytes=120\n' })
    .on(/sha256sum < "\$f"/, () => ({ stdout: setListing(host) }))
    .on(/for d in \*\/; do/, { stdout: listing });
  return host;
}

/**
 * What the checksum step lists: the files the steps since the set was created wrote (a failed-state
 * snapshot holds the database only), as the real step finds them in the directory.
 */
function setListing(host: FakeHost): string {
  const at = host.commands.map((c) => /mkdir \S+\/\.tmp-/.test(c.command)).lastIndexOf(true);
  const since = host.commands.slice(at).map((c) => c.command);
  const wrote = (re: RegExp) => since.some((c) => re.test(c));
  const volumes = [
    ...new Set(since.flatMap((c) => [...c.matchAll(/\/volumes\/([\w.-]+)\.tar/g)].map((m) => m[1]))),
  ];
  return [
    `file=10=${SHA}=compose.yml`,
    ...(wrote(/\/database\.sqlite3/) ? [`file=4096=${SHA}=database.sqlite3`] : []),
    `file=20=${SHA}=env`,
    ...volumes.sort().map((v) => `file=10240=${SHA}=volumes/${v}.tar`),
    '',
  ].join('\n');
}

/**
 * Settings for an operation run against the fake host: a password login to `h`, project /srv/eqmd-a,
 * the command, and `over`. Inputs not given are absent, as on a runner that fills action.yml's defaults.
 */
export function settingsFor(command: string, over: Record<string, string> = {}): Settings {
  const inputs: Record<string, string> = {
    command,
    host: 'h',
    username: 'deploy',
    password: 'pw',
    'insecure-ignore-host-key': 'true',
    'project-dir': '/srv/eqmd-a',
    ...over,
  };
  return parseSettings((n) => inputs[n], { GITHUB_RUN_ID: '42', GITHUB_REPOSITORY: 'org/app' });
}
