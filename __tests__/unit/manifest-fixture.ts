import { backupTag } from '../../src/backup/set-paths.js';
import { buildManifest } from '../../src/backup/record.js';
import type { Manifest, ManifestReason } from '../../src/manifest.js';

const SHA = 'a'.repeat(64);

/**
 * A manifest as the action writes it (through buildManifest), valid under the schema: what tests
 * that go through the host's listing need, since a set whose manifest fails the schema is not used.
 * The id's time is taken from `created`.
 */
export function validManifest(x: {
  created: string;
  project?: string;
  reason?: ManifestReason;
  suffix?: string;
  imageId?: string;
}): Manifest {
  const created = new Date(x.created);
  const id = `${x.created.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${x.suffix ?? 'abcdef'}`;
  const project = x.project ?? 'eqmd-a';
  return buildManifest({
    id,
    created,
    reason: x.reason ?? 'manual',
    hostName: 'web1',
    address: 'deploy@deploy.example.org:22',
    project,
    projectDir: `/srv/${project}`,
    service: 'eqmd',
    flavor: 'v2',
    imageReference: 'registry.local/eqmd:v1',
    image: {
      id: x.imageId ?? `sha256:${'1'.repeat(64)}`,
      repoTags: ['registry.local/eqmd:v1'],
      repoDigests: [`registry.local/eqmd@sha256:${'b'.repeat(64)}`],
    },
    backupTag: backupTag(project, id),
    imageVariable: 'EQMD_IMAGE',
    envValue: 'registry.local/eqmd:v1',
    files: [
      { path: 'compose.yml', role: 'compose-file', bytes: 10, sha256: SHA },
      { path: 'database.sqlite3', role: 'database', bytes: 4096, sha256: SHA },
      { path: 'env', role: 'env-file', bytes: 20, sha256: SHA },
      { path: 'volumes/eqmd-a_media_files.tar', role: 'volume', bytes: 10240, sha256: SHA },
    ],
    database: {
      kind: 'sqlite',
      via: 'app-container',
      source: '/app/database/db.sqlite3',
      file: 'database.sqlite3',
      integrity: 'ok',
      schemaFingerprint: SHA,
      tables: { records_patient: 50 },
    },
    volumes: [
      {
        name: 'eqmd-a_media_files',
        mountpoint: '/app/media',
        file: 'volumes/eqmd-a_media_files.tar',
        entries: 3,
        contentBytes: 120,
      },
    ],
    checks: [{ check: 'SQLite integrity_check of the copy', ok: true, detail: 'ok' }],
    run: {
      repository: 'org/app',
      sha: '0123456789abcdef0123456789abcdef01234567',
      runId: '42',
      runAttempt: '1',
      actor: 'octocat',
      workflow: 'deploy',
      serverUrl: 'https://github.com',
      event: 'push',
    },
    toolVersion: '0.1.0',
  });
}
