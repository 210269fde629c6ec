import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectionInputs, key, runAction, sh, sshdLogLines, testHost } from './harness.js';

const h = testHost();
const a = h.instances.a;
const base = { command: 'list', 'project-dir': a.projectDir, 'upload-artifact': 'false' };
const WRONG = 'SHA256:' + 'Q'.repeat(43);
const accepted = () =>
  Number(sh(`grep -c 'Accepted ' ${h.ssh.privateKeyPath.replace(/id_ed25519$/, 'sshd.log')} || true`).trim());

describe('connection security and input validation', () => {
  test('a wrong host key aborts before authentication, naming both fingerprints', async () => {
    const before = accepted();
    const r = await runAction({ ...base, ...connectionInputs(h), 'host-fingerprint': WRONG });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /host key mismatch/);
    assert.ok(r.stdout.includes(h.ssh.fingerprint) && r.stdout.includes(WRONG));
    assert.equal(accepted(), before, 'no session was ever authenticated, so no command can have run');
  });

  test('no fingerprint, no known-hosts: refused before connecting, with how to get one', async () => {
    const lines = sshdLogLines();
    const r = await runAction({ ...base, ...connectionInputs(h), 'host-fingerprint': '' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Invalid input 'host-fingerprint'.*ssh-keygen -l -E sha256/);
    assert.equal(r.outputs.result, 'refused', 'a run refused before connecting still reports');
    assert.match(r.summary, /Invalid input 'host-fingerprint'/);
    assert.equal(sshdLogLines(), lines, 'sshd saw no connection');
  });

  test('invalid inputs fail before connecting, naming input, value and form', async () => {
    const lines = sshdLogLines();
    const cases: [Record<string, string>, RegExp][] = [
      [
        { port: '22; reboot' },
        /Invalid input 'port': "22; reboot"\. Expected a whole number from 1 to 65535/,
      ],
      [{ 'keep-backups': 'ten' }, /Invalid input 'keep-backups': "ten"/],
      [{ volumes: 'media$(touch /tmp/pwned)' }, /Invalid input 'volumes'/],
      [{ 'project-dir': 'srv/eqmd' }, /Invalid input 'project-dir'.*absolute path/],
      [{ command: 'rollback-everything' }, /Invalid input 'command'/],
      [{ 'private-key': 'not a key' }, /Invalid input 'private-key'/],
    ];
    for (const [over, message] of cases) {
      const r = await runAction({ ...base, ...connectionInputs(h), ...over });
      assert.equal(r.code, 1, JSON.stringify(over));
      assert.match(r.stdout, message);
    }
    assert.equal(sh('ls /tmp/pwned 2>/dev/null || true').trim(), '');
    assert.equal(sshdLogLines(), lines, 'no case reached sshd');
  });

  test('a wrong passphrase is caught before connecting, without echoing the key', async () => {
    const lines = sshdLogLines();
    const r = await runAction({
      ...base,
      ...connectionInputs(h),
      'private-key': key(h.ssh.passphraseKeyPath),
      passphrase: 'wrong-passphrase',
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Invalid input 'private-key': "\*\*\*"/);
    assert.equal(sshdLogLines(), lines);
  });

  test('known-hosts, passphrase key, RSA key, password and a jump host all connect with one verified session each', async () => {
    const variants: [string, Record<string, string>][] = [
      ['known-hosts', { 'host-fingerprint': '', 'known-hosts': `# pinned\n${h.ssh.knownHostsLine}\n` }],
      ['passphrase key', { 'private-key': key(h.ssh.passphraseKeyPath), passphrase: h.ssh.passphrase }],
      ['rsa key', { 'private-key': key(h.ssh.rsaKeyPath) }],
      ['password', { 'private-key': '', password: h.ssh.password }],
      [
        'jump host',
        {
          'proxy-host': h.ssh.jump.host,
          'proxy-port': String(h.ssh.jump.port),
          'proxy-username': h.ssh.jump.username,
          'proxy-host-fingerprint': h.ssh.jump.fingerprint,
        },
      ],
    ];
    for (const [name, over] of variants) {
      const r = await runAction({ ...base, ...connectionInputs(h), ...over });
      assert.equal(r.code, 0, `${name}: ${r.stdout}`);
      assert.ok(r.outputs.backups !== undefined, `${name}: backups output set`);
      const hops = (r.stdout.match(/^connected to /gm) ?? []).length;
      assert.equal(hops, name === 'jump host' ? 2 : 1, `${name}: handshakes`);
    }
    const r = await runAction({
      ...base,
      ...connectionInputs(h),
      password: h.ssh.password,
      'private-key': '',
    });
    const printed = r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    assert.ok(!printed.includes(h.ssh.password), 'the password is never printed');
  });

  test('a jump host with the wrong fingerprint is refused', async () => {
    const r = await runAction({
      ...base,
      ...connectionInputs(h),
      'proxy-host': h.ssh.jump.host,
      'proxy-port': String(h.ssh.jump.port),
      'proxy-username': h.ssh.jump.username,
      'proxy-host-fingerprint': WRONG,
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /host key mismatch for \[127\.0\.0\.1\]:2223/);
  });

  test('insecure-ignore-host-key connects but says the key was not verified', async () => {
    const r = await runAction({
      ...base,
      ...connectionInputs(h),
      'host-fingerprint': '',
      'insecure-ignore-host-key': 'true',
    });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /NOT VERIFIED/);
  });
});
