import { createHash, createHmac } from 'node:crypto';

/** OpenSSH's `SHA256:` fingerprint body: base64 of the SHA-256 of the key blob, without `=` padding. */
export function fingerprintOf(keyBlob: Buffer): string {
  return createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

export interface KnownHostEntry {
  marker: '' | '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  keyBlob: Buffer;
}

/** Parses known_hosts text; comments and blank lines are skipped, malformed lines are reported. */
export function parseKnownHosts(text: string): { entries: KnownHostEntry[]; bad: number[] } {
  const entries: KnownHostEntry[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const marker = fields[0] === '@revoked' || fields[0] === '@cert-authority' ? fields.shift() : '';
    const [patterns, keyType, key] = fields;
    if (!patterns || !keyType || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) {
      bad.push(index + 1);
      return;
    }
    entries.push({
      marker: marker as KnownHostEntry['marker'],
      patterns,
      keyType,
      keyBlob: Buffer.from(key, 'base64'),
    });
  });
  return { entries, bad };
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Matches one known_hosts host field (comma patterns, `!` negation, `|1|salt|hash` hashed names). */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyDecision = { accept: true; how: string } | { accept: false; why: string };

/**
 * Decides whether a presented host key is trusted. Pinned fingerprints and known_hosts lines are both
 * honoured; a `@revoked` match refuses even if a fingerprint matches.
 */
export function decideHostKey(opts: {
  keyBlob: Buffer;
  host: string;
  port: number;
  fingerprints: readonly string[];
  knownHosts: string;
  insecureIgnoreHostKey: boolean;
}): HostKeyDecision {
  const presented = fingerprintOf(opts.keyBlob);
  const name = knownHostsName(opts.host, opts.port);
  const entries = parseKnownHosts(opts.knownHosts).entries.filter((e) => hostMatches(e.patterns, name));
  if (entries.some((e) => e.marker === '@revoked' && e.keyBlob.equals(opts.keyBlob))) {
    return {
      accept: false,
      why: `host key SHA256:${presented} of ${name} is marked @revoked in known-hosts`,
    };
  }
  if (opts.fingerprints.includes(presented))
    return { accept: true, how: `pinned fingerprint SHA256:${presented}` };
  if (entries.some((e) => e.marker === '' && e.keyBlob.equals(opts.keyBlob))) {
    return { accept: true, how: `known-hosts entry for ${name}` };
  }
  if (opts.insecureIgnoreHostKey) {
    return { accept: true, how: `NOT VERIFIED (insecure-ignore-host-key) SHA256:${presented}` };
  }
  const expected = [
    ...opts.fingerprints.map((f) => `SHA256:${f}`),
    ...entries.filter((e) => e.marker === '').map((e) => `SHA256:${fingerprintOf(e.keyBlob)}`),
  ];
  return {
    accept: false,
    why:
      `host key mismatch for ${name}: the server presented SHA256:${presented}, expected ` +
      (expected.length
        ? expected.join(' or ')
        : 'a key listed in known-hosts for this host (none matched its name)') +
      '. Refusing to connect: the key changed or the connection is being intercepted.',
  };
}
