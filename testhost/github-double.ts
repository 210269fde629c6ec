// A local double of the GitHub REST deployments API and of an incoming webhook (Slack/Teams style), for
// the end-to-end tests: the built action is pointed at it with GITHUB_API_URL and notify-webhook.
//
// It keeps deployments and their statuses like GitHub does (ids, newest first in lists, statuses per
// deployment) and records every request: method, path with query, JSON body, authorization header and
// arrival time. It can also be made to hang (accept the request, never answer) to test time-outs.
// Field names follow the REST docs: POST /repos/{owner}/{repo}/deployments, GET .../deployments
// (?environment=&per_page=), POST and GET .../deployments/{id}/statuses.
//
// Only loopback.

import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  /** Path and query, without the API prefix (e.g. /repos/org/app/deployments?environment=production). */
  path: string;
  body: unknown;
  authorization: string;
  at: number;
}

export interface DoubleDeployment {
  id: number;
  ref: string;
  environment: string;
  description: string;
  payload: unknown;
  production_environment: boolean;
  statuses: { id: number; state: string; description: string; environment_url?: string; log_url?: string }[];
}

export interface GitHubDouble {
  /** Base URL for GITHUB_API_URL (with a GHES-like prefix, so the prefix handling is exercised too). */
  apiUrl: string;
  /** An incoming-webhook URL; its path is the kind of secret Slack puts there. */
  webhookUrl: string;
  /** Requests to the API, in arrival order. */
  api: Recorded[];
  /** Requests to the webhook. */
  webhook: Recorded[];
  deployments: DoubleDeployment[];
  /** Accept requests but never answer them. */
  hang: { api: boolean; webhook: boolean };
  /** Answer every API call 403, as GitHub does when the token lacks `deployments: write`. */
  forbid: boolean;
  reset(): void;
  close(): Promise<void>;
}

const API_PREFIX = '/api/v3';
export const WEBHOOK_PATH = '/hooks/T0EQMD/B0ROLLBACK/s3cr3tW3bh00kK3y';

export async function startGitHubDouble(): Promise<GitHubDouble> {
  let nextId = 1000;
  const double: Omit<GitHubDouble, 'apiUrl' | 'webhookUrl' | 'close'> = {
    api: [],
    webhook: [],
    deployments: [],
    hang: { api: false, webhook: false },
    forbid: false,
    reset() {
      this.api.length = 0;
      this.webhook.length = 0;
      this.deployments.length = 0;
      this.hang = { api: false, webhook: false };
      this.forbid = false;
    },
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: Error) => send(res, 500, { message: err.message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = req.url ?? '/';
    const record = (path: string): Recorded => ({
      method: req.method ?? '',
      path,
      body: raw ? safeJson(raw) : null,
      authorization: req.headers.authorization ?? '',
      at: Date.now(),
    });
    if (url === WEBHOOK_PATH) {
      double.webhook.push(record(url));
      if (double.hang.webhook) return; // never answered
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (!url.startsWith(`${API_PREFIX}/`)) return send(res, 404, { message: 'Not Found' });
    const path = url.slice(API_PREFIX.length);
    double.api.push(record(path));
    if (double.hang.api) return;
    if (!/^(token|Bearer) \S+$/.test(req.headers.authorization ?? '')) {
      return send(res, 401, { message: 'Requires authentication' });
    }
    if (double.forbid) return send(res, 403, { message: 'Resource not accessible by integration' });
    const u = new URL(path, 'http://double');
    const m = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)\/statuses)?$/.exec(u.pathname);
    if (!m) return send(res, 404, { message: 'Not Found' });
    const id = m[3] ? Number(m[3]) : null;
    const body = (raw ? safeJson(raw) : {}) as Record<string, unknown>;
    if (id === null && req.method === 'POST') {
      if (typeof body.ref !== 'string' || !body.ref) return send(res, 422, { message: 'ref is required' });
      const d: DoubleDeployment = {
        id: nextId++,
        ref: body.ref,
        environment: String(body.environment ?? 'production'),
        description: String(body.description ?? ''),
        payload: body.payload ?? {},
        production_environment: body.production_environment === true,
        statuses: [],
      };
      double.deployments.push(d);
      return send(res, 201, { id: d.id, ref: d.ref, environment: d.environment, description: d.description });
    }
    if (id === null && req.method === 'GET') {
      const env = u.searchParams.get('environment');
      const perPage = Number(u.searchParams.get('per_page') ?? 30);
      const list = double.deployments
        .filter((d) => !env || d.environment === env)
        .reverse()
        .slice(0, perPage)
        .map((d) => ({ id: d.id, ref: d.ref, environment: d.environment, description: d.description }));
      return send(res, 200, list);
    }
    const d = double.deployments.find((x) => x.id === id);
    if (!d) return send(res, 404, { message: 'Not Found' });
    if (req.method === 'POST') {
      const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
      if (!states.includes(String(body.state))) return send(res, 422, { message: 'bad state' });
      const s = {
        id: nextId++,
        state: String(body.state),
        description: String(body.description ?? ''),
        ...(typeof body.environment_url === 'string' ? { environment_url: body.environment_url } : {}),
        ...(typeof body.log_url === 'string' ? { log_url: body.log_url } : {}),
      };
      d.statuses.push(s);
      return send(res, 201, s);
    }
    const perPage = Number(u.searchParams.get('per_page') ?? 30);
    return send(res, 200, [...d.statuses].reverse().slice(0, perPage));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(double, {
    apiUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
    webhookUrl: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A loopback port nothing listens on: connections to it are refused at once. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
