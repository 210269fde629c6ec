import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decideHostKey, fingerprintOf, hostMatches, parseKnownHosts } from '../../src/ssh/host-key.js';

// A real key made by ssh-keygen, so the fingerprint format is checked against OpenSSH itself.
const dir = mkdtempSync(join(tmpdir(), 'hostkey-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
const blob = Buffer.from(pub.split(' ')[1]!, 'base64');
const opensshFp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')])
  .toString()
  .split(' ')[1]!;

const decide = (over: Partial<Parameters<typeof decideHostKey>[0]>) =>
  decideHostKey({
    keyBlob: blob,
    host: 'h.example',
    port: 2222,
    fingerprints: [],
    knownHosts: '',
    insecureIgnoreHostKey: false,
    ...over,
  });

test('fingerprintOf matches what ssh-keygen prints', () => {
  assert.equal(`SHA256:${fingerprintOf(blob)}`, opensshFp);
});

test('a pinned fingerprint accepts; any other refuses and names both keys', () => {
  assert.equal(decide({ fingerprints: [fingerprintOf(blob)] }).accept, true);
  const d = decide({ fingerprints: ['B'.repeat(43)] });
  assert.equal(d.accept, false);
  assert.ok(!d.accept && d.why.includes(opensshFp) && d.why.includes(`SHA256:${'B'.repeat(43)}`));
});

test('known_hosts lines: [host]:port names, hashed names, negation and @revoked', () => {
  const [type, key] = pub.split(' ');
  assert.equal(decide({ knownHosts: `[h.example]:2222 ${type} ${key}` }).accept, true);
  assert.equal(
    decide({ knownHosts: `h.example ${type} ${key}` }).accept,
    false,
    'port 22 entry must not match port 2222',
  );
  assert.equal(decide({ knownHosts: `*.example,!h.example ${type} ${key}` }).accept, false);
  // Hash the entry with ssh-keygen -H so the HMAC scheme is checked against OpenSSH.
  const kh = join(dir, 'known_hosts');
  execFileSync('sh', [
    '-c',
    `echo '[h.example]:2222 ${type} ${key}' > ${kh} && ssh-keygen -H -f ${kh} >/dev/null 2>&1`,
  ]);
  const hashed = readFileSync(kh, 'utf8');
  assert.match(hashed, /^\|1\|/);
  assert.equal(decide({ knownHosts: hashed }).accept, true);
  const revoked = decide({
    fingerprints: [fingerprintOf(blob)],
    knownHosts: `@revoked [h.example]:2222 ${type} ${key}`,
  });
  assert.equal(revoked.accept, false, '@revoked wins over a pinned fingerprint');
});

test('insecure-ignore-host-key accepts but says it did not verify', () => {
  const d = decide({ insecureIgnoreHostKey: true });
  assert.ok(d.accept && d.how.includes('NOT VERIFIED'));
});

test('hostMatches globs and parseKnownHosts reports malformed lines', () => {
  assert.equal(hostMatches('web?.example', 'web1.example'), true);
  assert.equal(hostMatches('web?.example', 'web10.example'), false);
  assert.deepEqual(parseKnownHosts('# c\n\nbroken-line\nh ssh-ed25519 AAAA\n').bad, [3]);
});
