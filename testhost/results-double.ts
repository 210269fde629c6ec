// A local double of GitHub's Actions results service, enough for @actions/artifact 6.x to upload.
//
// Two halves, like the real thing:
//   - blob storage: Azurite's blob service (Microsoft's emulator) receives the zip through a SAS URL,
//     so the client's real Azure SDK block upload runs unchanged;
//   - the Twirp JSON API (ArtifactService) that hands out that SAS URL and finalizes the artifact,
//     checking what the real service checks: the bearer token, the backend ids from its scp claim,
//     unique names per run, and size + sha256 of the stored blob.
// Field names come from node_modules/@actions/artifact/lib/generated/results/api/v1/artifact.js
// (the client serializes with useProtoFieldName, so the wire is snake_case; int64 travels as a string).
//
// Only loopback: Azurite listens on 127.0.0.1 with telemetry off; the Twirp server on 127.0.0.1.
//
// CLI (for a demo): `node --import tsx testhost/results-double.ts` prints `export ...` lines and runs
// until SIGTERM/SIGINT.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StoredArtifact {
  id: number;
  name: string;
  size: number;
  hash: string; // sha256:<hex> of the stored zip, computed by the double
  retentionDays?: number; // only when the client asked for one (expires_at)
  zip: Buffer;
}

export interface ResultsDouble {
  resultsUrl: string;
  runtimeToken: string;
  runBackendId: string;
  jobBackendId: string;
  env(): Record<string, string>;
  artifacts(): Promise<StoredArtifact[]>;
  close(): Promise<void>;
}

// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = Buffer.from(
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  'base64',
);
// Any version >= 2020-12-06 uses the 16-field service SAS string-to-sign below.
const SAS_VERSION = '2024-08-04';
const CONTAINER = 'actions-results';
const SERVICE = 'github.actions.results.api.v1.ArtifactService';
// upload-artifact docs: "a single job can upload a maximum of 500 artifacts" (raised from 10).
const MAX_ARTIFACTS_PER_JOB = 500;
const MAX_BODY = 1 << 20;
const DAY_MS = 86_400_000;
// The client refuses these in names; the service does too, so a client bypassing validation is caught.
const INVALID_NAME_CHARS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];

const AZURITE_BIN = fileURLToPath(new URL('../node_modules/.bin/azurite-blob', import.meta.url));

// Twirp error codes and their HTTP statuses (twirp spec). The client retries 429/5xx with multi-second
// backoff, so every refusal here uses a 4xx the client treats as final, as the real service does.
const TWIRP_STATUS = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  failed_precondition: 412,
  internal: 500,
} as const;
type TwirpCode = keyof typeof TWIRP_STATUS;

class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    msg: string,
  ) {
    super(msg);
  }
}

interface ArtifactRecord {
  id: number;
  name: string;
  runBackendId: string;
  jobBackendId: string;
  blobName: string;
  createdAt: Date;
  expiresAt?: Date;
  finalized: boolean;
  size: number;
  hash: string;
}

type Json = Record<string, unknown>;

export async function startResultsDouble(): Promise<ResultsDouble> {
  const runBackendId = randomUUID();
  const jobBackendId = randomUUID();
  const runtimeToken = unsignedJwt({
    // The real token carries several scopes; the client picks Actions.Results:<run>:<job>.
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${runBackendId}:${jobBackendId}`,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 6 * 3600,
  });

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'results-double-'));
  const blobPort = await freePort();
  const azurite = spawn(
    process.execPath,
    [
      AZURITE_BIN,
      ...['--blobHost', '127.0.0.1', '--blobPort', String(blobPort)],
      ...['--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    ],
    // Azurite refuses --location together with --inMemoryPersistence, and its workspace defaults to the
    // cwd: run it in a temp dir so nothing it might write lands in the repo.
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Keep the tail of Azurite's output so a failed start explains itself.
  let azuriteLog = '';
  const keepLog = (b: Buffer): void => {
    azuriteLog = (azuriteLog + b.toString()).slice(-4000);
  };
  azurite.stdout?.on('data', keepLog);
  azurite.stderr?.on('data', keepLog);
  // If the test process dies without close(), do not leave an emulator behind.
  const killOnExit = (): void => void azurite.kill('SIGKILL');
  process.once('exit', killOnExit);

  const blobOrigin = `http://127.0.0.1:${blobPort}`;
  const blobUrl = (blobName: string, sas: string): string =>
    `${blobOrigin}/${ACCOUNT}/${CONTAINER}/${blobName.split('/').map(encodeURIComponent).join('/')}?${sas}`;

  const records: ArtifactRecord[] = [];
  let nextId = 1_000_001; // realistic-looking ids, well inside Number's safe range

  const server = http.createServer((req, res) => void handle(req, res));

  try {
    await waitForPort(blobPort, azurite, () => azuriteLog);
    await createContainer(blobOrigin);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    process.removeListener('exit', killOnExit);
    await stopChild(azurite);
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  const resultsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const prefix = `/twirp/${SERVICE}/`;
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method !== 'POST' || !url.pathname.startsWith(prefix)) {
        throw new TwirpError('bad_route', `no handler for ${req.method} ${url.pathname}`);
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        throw new TwirpError(
          'bad_route',
          'this double speaks Twirp JSON only (Content-Type application/json)',
        );
      }
      if (req.headers.authorization !== `Bearer ${runtimeToken}`) {
        throw new TwirpError('unauthenticated', 'missing or invalid bearer token');
      }
      const body = await readJson(req);
      const reply = await dispatch(url.pathname.slice(prefix.length), body);
      send(res, 200, reply);
    } catch (err) {
      const e = err instanceof TwirpError ? err : new TwirpError('internal', String(err));
      send(res, TWIRP_STATUS[e.code], { code: e.code, msg: e.message });
    }
  }

  async function dispatch(method: string, body: Json): Promise<Json> {
    // Every request names the run and job; they must be the ones the token was issued for.
    const run = str(body, 'workflow_run_backend_id');
    const job = str(body, 'workflow_job_run_backend_id');
    if (run !== runBackendId || job !== jobBackendId) {
      throw new TwirpError('permission_denied', 'workflow run/job backend ids do not match the token scope');
    }
    switch (method) {
      case 'CreateArtifact':
        return createArtifact(body);
      case 'FinalizeArtifact':
        return finalizeArtifact(body);
      case 'ListArtifacts':
        return listArtifacts(body);
      case 'GetSignedArtifactURL': {
        const { blobName } = findFinalized(body);
        return { signed_url: blobUrl(blobName, serviceSas(blobName, 'r')) };
      }
      case 'DeleteArtifact': {
        const rec = findFinalized(body);
        const res = await fetch(blobUrl(rec.blobName, serviceSas(rec.blobName, 'd')), {
          method: 'DELETE',
          headers: { 'x-ms-version': SAS_VERSION },
        });
        if (!res.ok) throw new Error(`Azurite DELETE blob: ${res.status} ${await res.text()}`);
        records.splice(records.indexOf(rec), 1);
        return { ok: true, artifact_id: String(rec.id) };
      }
      default:
        throw new TwirpError('bad_route', `unknown method ${method}`);
    }
  }

  function createArtifact(body: Json): Json {
    const name = validName(body);
    const version = body.version ?? 0;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 4) {
      throw new TwirpError('invalid_argument', `unsupported artifact version ${String(version)}`);
    }
    if (records.some((r) => r.runBackendId === runBackendId && r.name === name)) {
      // The real service's words, as seen in countless failed runs.
      throw new TwirpError('already_exists', 'an artifact with this name already exists on the workflow run');
    }
    if (records.filter((r) => r.jobBackendId === jobBackendId).length >= MAX_ARTIFACTS_PER_JOB) {
      throw new TwirpError(
        'failed_precondition',
        `a job may create at most ${MAX_ARTIFACTS_PER_JOB} artifacts`,
      );
    }
    const createdAt = new Date();
    let expiresAt: Date | undefined;
    if (body.expires_at !== undefined) {
      // google.protobuf.Timestamp in JSON is an RFC 3339 string.
      expiresAt = new Date(str(body, 'expires_at'));
      if (Number.isNaN(expiresAt.getTime()) || expiresAt <= createdAt) {
        throw new TwirpError('invalid_argument', 'expires_at must be a future RFC 3339 timestamp');
      }
    }
    const blobName = `${runBackendId}/workflow-job-run-${jobBackendId}/artifacts/${sha256(name)}.zip`;
    records.push({
      id: nextId++,
      name,
      runBackendId,
      jobBackendId,
      blobName,
      createdAt,
      expiresAt,
      finalized: false,
      size: 0,
      hash: '',
    });
    // Create + write only, scoped to this one blob, short-lived: what the real service hands out.
    return { ok: true, signed_upload_url: blobUrl(blobName, serviceSas(blobName, 'cw')) };
  }

  async function finalizeArtifact(body: Json): Promise<Json> {
    const name = validName(body);
    const rec = records.find((r) => r.name === name);
    if (!rec) throw new TwirpError('not_found', `artifact ${name} was never created`);
    if (rec.finalized) throw new TwirpError('failed_precondition', `artifact ${name} is already finalized`);
    // int64 is a JSON string; proto3 JSON omits zero values, so a missing size means 0.
    const declared = Number(body.size ?? '0');
    if (!Number.isSafeInteger(declared) || declared < 0) {
      throw new TwirpError('invalid_argument', `size is not a non-negative integer: ${String(body.size)}`);
    }
    const zip = await download(rec.blobName);
    if (!zip) throw new TwirpError('failed_precondition', `no committed blob for artifact ${name}`);
    if (zip.length !== declared) {
      throw new TwirpError('invalid_argument', `size mismatch: declared ${declared}, stored ${zip.length}`);
    }
    const actual = `sha256:${sha256(zip)}`;
    // hash is a StringValue wrapper (plain string in JSON) and optional in the proto; check it when sent.
    if (body.hash !== undefined && body.hash !== actual) {
      throw new TwirpError(
        'invalid_argument',
        `hash mismatch: declared ${String(body.hash)}, stored ${actual}`,
      );
    }
    Object.assign(rec, { finalized: true, size: zip.length, hash: actual });
    return { ok: true, artifact_id: String(rec.id) };
  }

  function listArtifacts(body: Json): Json {
    const nameFilter = body.name_filter; // StringValue → plain string
    const idFilter = body.id_filter; // Int64Value → string (or number)
    const list = records.filter(
      (r) =>
        r.finalized &&
        r.runBackendId === runBackendId &&
        (nameFilter === undefined || r.name === nameFilter) &&
        (idFilter === undefined || String(r.id) === String(idFilter)),
    );
    return {
      artifacts: list.map((r) => ({
        workflow_run_backend_id: r.runBackendId,
        workflow_job_run_backend_id: r.jobBackendId,
        database_id: String(r.id),
        name: r.name,
        size: String(r.size),
        created_at: r.createdAt.toISOString(),
        digest: r.hash,
      })),
    };
  }

  function findFinalized(body: Json): ArtifactRecord {
    const name = validName(body);
    const rec = records.find((r) => r.finalized && r.name === name);
    if (!rec) throw new TwirpError('not_found', `artifact ${name} not found`);
    return rec;
  }

  async function download(blobName: string): Promise<Buffer | undefined> {
    const res = await fetch(blobUrl(blobName, serviceSas(blobName, 'r')), {
      headers: { 'x-ms-version': SAS_VERSION },
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`Azurite GET blob: ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  }

  let closed: Promise<void> | undefined;
  return {
    resultsUrl,
    runtimeToken,
    runBackendId,
    jobBackendId,
    env() {
      const env: Record<string, string> = {
        ACTIONS_RESULTS_URL: resultsUrl,
        ACTIONS_RUNTIME_TOKEN: runtimeToken,
        // The client refuses to run on GHES, and decides that from GITHUB_SERVER_URL: a harness that points
        // it at a local host would trip that. github.com is what a hosted runner sets.
        GITHUB_SERVER_URL: 'https://github.com',
      };
      // The Azure SDK honours HTTP(S)_PROXY without exempting loopback (@actions/http-client does exempt
      // it): keep the blob upload off any proxy.
      if (
        process.env.HTTPS_PROXY ||
        process.env.HTTP_PROXY ||
        process.env.https_proxy ||
        process.env.http_proxy
      ) {
        const current = process.env.NO_PROXY ?? process.env.no_proxy;
        env.NO_PROXY = current ? `${current},127.0.0.1` : '127.0.0.1';
      }
      return env;
    },
    async artifacts() {
      const out: StoredArtifact[] = [];
      for (const r of records.filter((x) => x.finalized)) {
        const zip = await download(r.blobName);
        if (!zip) throw new Error(`blob for finalized artifact ${r.name} is gone from Azurite`);
        const a: StoredArtifact = { id: r.id, name: r.name, size: r.size, hash: r.hash, zip };
        if (r.expiresAt) {
          a.retentionDays = Math.round((r.expiresAt.getTime() - r.createdAt.getTime()) / DAY_MS);
        }
        out.push(a);
      }
      return out;
    },
    close() {
      closed ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        process.removeListener('exit', killOnExit);
        await stopChild(azurite);
        await rm(workDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

// --- Azure SAS, signed here with node:crypto (no SDK) ----------------------------------------------

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sign(stringToSign: string): string {
  return createHmac('sha256', ACCOUNT_KEY).update(stringToSign, 'utf8').digest('base64');
}

// Service SAS for one blob (sr=b). String-to-sign for sv >= 2020-12-06: sp, st, se, canonicalized
// resource, si, sip, spr, sv, sr, snapshot time, ses, rscc, rscd, rsce, rscl, rsct — joined by "\n".
function serviceSas(blobName: string, permissions: string): string {
  const se = isoSeconds(new Date(Date.now() + 3600_000));
  const resource = `/blob/${ACCOUNT}/${CONTAINER}/${blobName}`;
  const fields = [permissions, '', se, resource, '', '', '', SAS_VERSION, 'b', '', '', '', '', '', '', ''];
  const sig = sign(fields.join('\n'));
  return new URLSearchParams({ sv: SAS_VERSION, se, sr: 'b', sp: permissions, sig }).toString();
}

// Creating a container needs an account SAS (a service SAS cannot). String-to-sign for sv >= 2020-12-06:
// account, sp, ss, srt, st, se, sip, spr, sv, ses, and a trailing newline.
async function createContainer(blobOrigin: string): Promise<void> {
  const se = isoSeconds(new Date(Date.now() + 600_000));
  const fields = [ACCOUNT, 'c', 'b', 'c', '', se, '', '', SAS_VERSION, '', ''];
  const sas = new URLSearchParams({
    sv: SAS_VERSION,
    ss: 'b',
    srt: 'c',
    sp: 'c',
    se,
    sig: sign(fields.join('\n')),
  });
  const res = await fetch(`${blobOrigin}/${ACCOUNT}/${CONTAINER}?restype=container&${sas.toString()}`, {
    method: 'PUT',
    headers: { 'x-ms-version': SAS_VERSION },
  });
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`Azurite refused to create container ${CONTAINER}: ${res.status} ${await res.text()}`);
  }
}

// --- small helpers --------------------------------------------------------------------------------

function unsignedJwt(claims: Json): string {
  const part = (o: Json): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  // The client decodes the token (jwt-decode) and never verifies it, so alg "none" is enough.
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function str(body: Json, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw new TwirpError('invalid_argument', `${field} is required`);
  return v;
}

function validName(body: Json): string {
  const name = str(body, 'name');
  const bad = INVALID_NAME_CHARS.find((c) => name.includes(c));
  if (bad !== undefined)
    throw new TwirpError('invalid_argument', `artifact name contains ${JSON.stringify(bad)}`);
  return name;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TwirpError('malformed', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TwirpError('malformed', 'request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TwirpError('malformed', 'request body is not a JSON object');
  }
  return parsed as Json;
}

function send(res: ServerResponse, status: number, body: Json): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `azurite-blob exited during start-up (${child.exitCode ?? child.signalCode}):\n${log()}`,
      );
    }
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`azurite-blob did not listen on 127.0.0.1:${port} within 30 s:\n${log()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// --- CLI ------------------------------------------------------------------------------------------

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const double = await startResultsDouble();
  const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  for (const [k, v] of Object.entries(double.env())) console.log(`export ${k}=${quote(v)}`);
  const stop = (): void => void double.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
