// uploadFiles against a local double of the Actions results service (Twirp API + Azurite blob storage):
// the real @actions/artifact client zips, uploads through a SAS URL and finalizes, and the double checks
// what GitHub checks. Loopback only.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { uploadFiles } from '../../src/artifact.js';
import { startResultsDouble } from '../../testhost/results-double.js';
import type { ResultsDouble, StoredArtifact } from '../../testhost/results-double.js';

const run = promisify(execFile);
const TOUCHED_ENV = [
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'GITHUB_SERVER_URL',
  'GITHUB_RETENTION_DAYS',
  'NO_PROXY',
];
const savedEnv = Object.fromEntries(TOUCHED_ENV.map((k) => [k, process.env[k]]));

let double: ResultsDouble;
let scratch: string;

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'artifact-e2e-'));
  double = await startResultsDouble();
});

after(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await double?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(process.env, double.env());
  // A real runner's repository cap would silently lower the retention under test.
  delete process.env.GITHUB_RETENTION_DAYS;
});

async function manifestDir(content: string): Promise<{ dir: string; file: string; bytes: Buffer }> {
  const dir = await mkdtemp(path.join(scratch, 'run-'));
  const file = path.join(dir, 'manifest.json');
  const bytes = Buffer.from(content, 'utf8');
  await writeFile(file, bytes);
  return { dir, file, bytes };
}

async function storedNamed(name: string): Promise<StoredArtifact[]> {
  return (await double.artifacts()).filter((a) => a.name === name);
}

async function unzipEntry(zip: Buffer, entry: string): Promise<{ names: string[]; bytes: Buffer }> {
  const zipPath = path.join(scratch, `${randomUUID()}.zip`);
  await writeFile(zipPath, zip);
  const list = await run('unzip', ['-Z1', zipPath]);
  const { stdout } = await run('unzip', ['-p', zipPath, entry], { encoding: 'buffer' });
  return { names: list.stdout.split('\n').filter(Boolean), bytes: stdout };
}

const sampleManifest = (tag: string): string =>
  JSON.stringify({ tag, images: { web: 'sha256:' + 'ab'.repeat(32) }, note: 'é ✓' }, null, 2) + '\n';

describe('uploadFiles through the results-service double', () => {
  test('uploads manifest.json; the stored zip holds it byte for byte', async () => {
    const name = `manifest-${randomUUID()}`;
    const m = await manifestDir(sampleManifest('first'));

    const res = await uploadFiles({ name, files: [m.file], rootDir: m.dir, retentionDays: 0 });

    assert.equal(res.uploaded, true, res.uploaded ? '' : res.reason);
    assert.ok(res.uploaded);
    assert.ok(Number.isSafeInteger(res.id) && res.id > 0, `id ${res.id}`);
    assert.equal(res.name, name);

    const stored = await storedNamed(name);
    assert.equal(stored.length, 1);
    const [art] = stored;
    assert.ok(art);
    assert.equal(art.id, res.id);
    assert.equal(art.size, art.zip.length);
    assert.equal(res.size, art.zip.length);
    assert.equal(art.hash, `sha256:${createHash('sha256').update(art.zip).digest('hex')}`);
    assert.equal(art.retentionDays, undefined, 'retentionDays 0 must leave the repository default');

    const { names, bytes } = await unzipEntry(art.zip, 'manifest.json');
    assert.deepEqual(names, ['manifest.json'], 'paths are relative to rootDir');
    assert.ok(bytes.equals(m.bytes), 'unzipped manifest.json differs from the uploaded file');
  });

  test('passes retention days through', async () => {
    const name = `retained-${randomUUID()}`;
    const m = await manifestDir(sampleManifest('retained'));

    const res = await uploadFiles({ name, files: [m.file], rootDir: m.dir, retentionDays: 5 });

    assert.equal(res.uploaded, true, res.uploaded ? '' : res.reason);
    const stored = await storedNamed(name);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.retentionDays, 5);
  });

  test('a second upload with the same name is refused and reported, not thrown', async () => {
    const name = `dup-${randomUUID()}`;
    const first = await manifestDir(sampleManifest('first'));
    const second = await manifestDir(sampleManifest('second'));

    const a = await uploadFiles({ name, files: [first.file], rootDir: first.dir, retentionDays: 0 });
    assert.equal(a.uploaded, true, a.uploaded ? '' : a.reason);
    const b = await uploadFiles({ name, files: [second.file], rootDir: second.dir, retentionDays: 0 });

    assert.equal(b.uploaded, false);
    assert.ok(!b.uploaded);
    assert.match(b.reason, /already exists/);
    assert.match(b.reason, new RegExp(name));

    const stored = await storedNamed(name);
    assert.equal(stored.length, 1);
    const { bytes } = await unzipEntry(stored[0]!.zip, 'manifest.json');
    assert.ok(bytes.equals(first.bytes), 'the first upload must stay untouched');
  });

  test('outside GitHub Actions it does not upload and says why', async () => {
    delete process.env.ACTIONS_RUNTIME_TOKEN;
    delete process.env.ACTIONS_RESULTS_URL;
    const name = `local-${randomUUID()}`;
    const m = await manifestDir(sampleManifest('local'));
    const before = (await double.artifacts()).length;

    const res = await uploadFiles({ name, files: [m.file], rootDir: m.dir, retentionDays: 0 });

    assert.equal(res.uploaded, false);
    assert.ok(!res.uploaded);
    assert.match(res.reason, /not running in GitHub Actions/);
    assert.match(res.reason, /ACTIONS_RUNTIME_TOKEN/);
    assert.ok(res.reason.includes(m.dir), 'the reason says where the files are');
    assert.equal((await double.artifacts()).length, before);
  });
});

// The double is only worth something if it refuses what GitHub refuses: drive its protocol by hand.
describe('the results-service double itself', () => {
  const call = async (method: string, body: object, token = double.runtimeToken) => {
    const res = await fetch(
      new URL(`twirp/github.actions.results.api.v1.ArtifactService/${method}`, double.resultsUrl),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      },
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('checks token, backend ids, size and hash before finalizing', async () => {
    const ids = {
      workflow_run_backend_id: double.runBackendId,
      workflow_job_run_backend_id: double.jobBackendId,
    };
    const name = `raw-${randomUUID()}`;

    assert.equal((await call('CreateArtifact', { ...ids, name, version: 7 }, 'not-the-token')).status, 401);
    const foreign = await call('CreateArtifact', {
      ...ids,
      workflow_run_backend_id: randomUUID(),
      name,
      version: 7,
    });
    assert.equal(foreign.status, 403);

    const created = await call('CreateArtifact', { ...ids, name, version: 7 });
    assert.equal(created.status, 200);
    assert.equal(created.body.ok, true);
    const uploadUrl = created.body.signed_upload_url;
    assert.equal(typeof uploadUrl, 'string');

    const payload = Buffer.from('not really a zip');
    const put = await fetch(uploadUrl as string, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2024-08-04' },
      body: payload,
    });
    assert.equal(put.status, 201, await put.text());

    const hash = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    const wrongSize = await call('FinalizeArtifact', {
      ...ids,
      name,
      size: String(payload.length + 1),
      hash,
    });
    assert.equal(wrongSize.status, 400);
    assert.match(String(wrongSize.body.msg), /size mismatch/);
    const wrongHash = await call('FinalizeArtifact', {
      ...ids,
      name,
      size: String(payload.length),
      hash: `sha256:${'0'.repeat(64)}`,
    });
    assert.equal(wrongHash.status, 400);
    assert.match(String(wrongHash.body.msg), /hash mismatch/);

    const ok = await call('FinalizeArtifact', { ...ids, name, size: String(payload.length), hash });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    const stored = await storedNamed(name);
    assert.equal(stored.length, 1);
    assert.equal(String(stored[0]?.id), ok.body.artifact_id);
  });
});
