import { InputError } from '../errors.js';
import type { HealthUrl, PostgresUrl } from '../settings.js';
import * as v from '../validate.js';

/**
 * The webhook URL is a credential (Slack and Teams put the key in the path), so it is never echoed. It must
 * be https: plain http only to the runner itself (127.0.0.1, ::1, localhost), where nothing crosses a network.
 */
export function parseWebhookUrl(value: string): string {
  const fail = (): never => {
    throw new InputError(
      'notify-webhook',
      '***',
      'an https:// URL (http:// only to 127.0.0.1, [::1] or localhost); the value is a secret and is not shown',
    );
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail();
  }
  const local = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return fail();
  return value;
}

/** The health URL as seen from the host: fetched through the SSH connection, so it may say localhost. */
export function parseHealthUrl(value: string): HealthUrl {
  const fail = (): never => {
    throw new InputError(
      'health-url',
      value,
      'an http(s) URL as seen from the host, e.g. http://localhost:8778/health/',
    );
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return fail();
  const hostName = url.hostname.replace(/^\[|\]$/g, '');
  return {
    protocol: url.protocol,
    host: v.host('health-url', hostName),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    path: `${url.pathname}${url.search}`,
  };
}

/** postgres://user:password@host:port/database?sslmode=… — the password is kept apart as a secret. */
export function parsePostgresUrl(value: string): PostgresUrl {
  // Never echo the URL: it holds a password. The error shows only its shape.
  const fail = (): never => {
    throw new InputError('database-url', redactUrl(value), 'postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail();
  }
  if (!['postgres:', 'postgresql:'].includes(url.protocol)) return fail();
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(url.username);
  const hostName = url.hostname.replace(/^\[|\]$/g, '');
  if (!database || !user || !hostName) return fail();
  const sslmode = url.searchParams.get('sslmode') ?? '';
  if (sslmode && !/^(disable|allow|prefer|require|verify-ca|verify-full)$/.test(sslmode)) return fail();
  return {
    host: v.host('database-url', hostName),
    port: url.port ? v.integer('database-url', url.port, 1, 65535) : 5432,
    user: v.username('database-url', user),
    database: v.volumeName('database-url', database),
    password: decodeURIComponent(url.password),
    sslmode,
  };
}

export function redactUrl(value: string): string {
  return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
