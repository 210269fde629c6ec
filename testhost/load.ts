/**
 * A small load generator for the zero-downtime tests and benchmark: `clients` concurrent keep-alive
 * clients, each looping over GET /version/ and POST /records/ (a write that must land) until stopped.
 * It records every answer: what failed (connection errors, 5xx other than a 503 the hold refused
 * with), latencies, and each write's fate, so the caller can check every acknowledged write is stored
 * and no refused one is.
 */
import http from 'node:http';

export interface LoadReport {
  sent: number;
  ok: number;
  /** Connection errors and server errors: what a user would have seen fail. */
  failed: number;
  /** 503 with Retry-After from the proxy's hold bound: refused before reaching the app. */
  refused: number;
  failures: string[];
  /** Names of the writes the app acknowledged (201), and of those refused with 503. */
  acked: string[];
  refusedWrites: string[];
  /** Writes whose fate is unknown (the connection failed mid-request). */
  unknownWrites: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Distinct /version/ answers seen, in order of first appearance. */
  versions: string[];
}

export interface Load {
  /** Requests sent so far. */
  sent(): number;
  stop(): Promise<LoadReport>;
}

function request(
  agent: http.Agent,
  url: URL,
  method: 'GET' | 'POST',
  body?: string,
): Promise<{ status: number; retryAfter: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        timeout: 60_000,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: String(res.headers['retry-after'] ?? ''),
            text,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export function startLoad(baseUrl: string, clients = 20, tag = `w${process.pid}`): Load {
  let running = true;
  const latencies: number[] = [];
  const r: LoadReport = {
    sent: 0,
    ok: 0,
    failed: 0,
    refused: 0,
    failures: [],
    acked: [],
    refusedWrites: [],
    unknownWrites: [],
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    versions: [],
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const fail = (what: string) => {
    r.failed++;
    if (r.failures.length < 20) r.failures.push(what);
  };
  const client = async (n: number) => {
    for (let i = 0; running; i++) {
      const write = i % 3 === 2;
      const name = `${tag}-c${n}-${i}`;
      const url = new URL(write ? '/records/' : '/version/', baseUrl);
      const t = Date.now();
      r.sent++;
      try {
        const a = await request(
          agent,
          url,
          write ? 'POST' : 'GET',
          write ? JSON.stringify({ name }) : undefined,
        );
        latencies.push(Date.now() - t);
        if (a.status === 503 && a.retryAfter) {
          r.refused++;
          if (write) r.refusedWrites.push(name);
        } else if (write ? a.status === 201 : a.status === 200) {
          r.ok++;
          if (write) r.acked.push(name);
          else if (!r.versions.includes(a.text.trim())) r.versions.push(a.text.trim());
        } else {
          fail(`${write ? 'POST' : 'GET'} ${a.status} after ${Date.now() - t} ms`);
          if (write) r.unknownWrites.push(name);
        }
      } catch (err) {
        latencies.push(Date.now() - t);
        fail(`${write ? 'POST' : 'GET'} ${(err as Error).message} after ${Date.now() - t} ms`);
        if (write) r.unknownWrites.push(name);
      }
    }
  };
  const all = Promise.all(Array.from({ length: clients }, (_, n) => client(n)));
  return {
    sent: () => r.sent,
    async stop() {
      running = false;
      await all;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      const at = (q: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
      return { ...r, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1) ?? 0 };
    },
  };
}
