import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../src/errors.js';
import { INPUT_DEFAULTS, SECRET_INPUTS } from '../../src/inputs/catalogue.js';
import { parseSettings } from '../../src/inputs/parse.js';
import { TOOL_VERSION } from '../../src/version.js';

const FP = 'SHA256:' + 'A'.repeat(43);
const base: Record<string, string> = {
  command: 'backup',
  host: 'deploy.example.org',
  username: 'deploy',
  'private-key': 'KEY',
  'host-fingerprint': FP,
  'project-dir': '/srv/eqmd',
};
const parse = (over: Record<string, string | undefined>) => {
  const inputs = { ...base, ...over };
  return parseSettings((n) => inputs[n], {});
};
const rejects = (over: Record<string, string | undefined>, input: string, fragment: RegExp) => {
  assert.throws(
    () => parse(over),
    (err: unknown) => err instanceof InputError && err.input === input && fragment.test(err.message),
    `${JSON.stringify(over)} should be rejected as ${input}`,
  );
};

test('valid inputs parse with the documented defaults', () => {
  const s = parse({});
  assert.equal(s.connection.port, 22);
  assert.deepEqual(s.connection.fingerprints, ['A'.repeat(43)]);
  assert.equal(s.app.service, 'eqmd');
  assert.equal(s.app.imageVariable, 'EQMD_IMAGE');
  assert.equal(s.backup.dir, 'backups');
  assert.equal(s.backup.volumes, 'auto');
  assert.equal(s.backup.keep, 10);
  assert.equal(s.connection.commandTimeoutMs, 600_000);
  assert.equal(s.output.uploadArtifact, true);
});

test('bad values name the input, quote the value and state the expected form', () => {
  rejects({ command: 'destroy' }, 'command', /"destroy".*backup \| list/);
  rejects({ port: '70000' }, 'port', /"70000".*1 to 65535/);
  rejects({ port: '22x' }, 'port', /"22x"/);
  rejects({ host: 'bad host;reboot' }, 'host', /"bad host;reboot"/);
  rejects({ username: '-oProxyCommand=x' }, 'username', /-oProxyCommand/);
  rejects({ 'project-dir': 'relative/dir' }, 'project-dir', /absolute path/);
  rejects({ 'project-dir': '/srv/../etc' }, 'project-dir', /\.\. segments/);
  rejects({ 'backup-dir': 'a\nb' }, 'backup-dir', /without \.\. segments/);
  rejects({ 'host-fingerprint': 'MD5:aa:bb' }, 'host-fingerprint', /"MD5:aa:bb".*SHA256:/);
  rejects({ 'insecure-ignore-host-key': 'yes' }, 'insecure-ignore-host-key', /true or false/);
  rejects({ database: 'mysql' }, 'database', /auto \| sqlite \| postgres \| none/);
  rejects({ 'keep-backups': '-1' }, 'keep-backups', /0 to 1000/);
  rejects({ volumes: 'media;rm -rf /' }, 'volumes', /Docker volume name/);
  rejects({ 'compose-project': 'Eqmd A' }, 'compose-project', /lower-case/);
  rejects({ image: 'ghcr.io/org/eqmd:v1' }, 'image', /without tag/);
  rejects({ 'image-variable': 'EQMD-IMAGE' }, 'image-variable', /environment variable/);
  rejects({ 'artifact-name': 'a/b' }, 'artifact-name', /artifact name/);
  rejects({ 'artifact-retention-days': '91' }, 'artifact-retention-days', /0 to 90/);
});

test('required inputs are named when missing', () => {
  rejects({ command: '' }, 'command', /""/);
  rejects({ host: '' }, 'host', /""/);
  rejects({ username: '' }, 'username', /""/);
  rejects({ 'project-dir': '' }, 'project-dir', /""/);
  rejects({ 'private-key': '', password: '' }, 'private-key', /private key/);
});

test('no host key check is refused unless explicitly made insecure, with the way to get one', () => {
  rejects({ 'host-fingerprint': '' }, 'host-fingerprint', /ssh-keygen -l -E sha256/);
  assert.equal(
    parse({ 'host-fingerprint': '', 'known-hosts': 'h ssh-ed25519 AAAA' }).connection.knownHosts,
    'h ssh-ed25519 AAAA',
  );
  assert.equal(
    parse({ 'host-fingerprint': '', 'insecure-ignore-host-key': 'true' }).connection.insecureIgnoreHostKey,
    true,
  );
  rejects({ 'proxy-host': 'jump.example.org' }, 'proxy-host-fingerprint', /jump host/);
});

test('the jump host: its own key and passphrase, a password, or the target’s key', () => {
  const jump = (over: Record<string, string>) =>
    parse({ 'proxy-host': 'jump.example.org', 'proxy-host-fingerprint': FP, ...over }).connection.jump!;
  const own = jump({ 'proxy-private-key': 'JUMPKEY', 'proxy-passphrase': 'jp' });
  assert.deepEqual([own.privateKey, own.passphrase, own.password], ['JUMPKEY', 'jp', '']);
  const byPassword = jump({ 'proxy-password': 'jpw' });
  assert.deepEqual([byPassword.privateKey, byPassword.passphrase, byPassword.password], ['', '', 'jpw']);
  const inherited = jump({ passphrase: 'tp' });
  assert.deepEqual(
    [inherited.privateKey, inherited.passphrase, inherited.password],
    [parse({}).connection.privateKey, 'tp', ''],
  );
  rejects(
    { 'proxy-host': 'jump.example.org', 'proxy-host-fingerprint': FP, 'proxy-passphrase': 'x' },
    'proxy-passphrase',
    /only with proxy-private-key/,
  );
});

test('several fingerprints are accepted, comma or newline separated', () => {
  const two = `${FP},\nSHA256:${'b'.repeat(43)}=`;
  assert.deepEqual(parse({ 'host-fingerprint': two }).connection.fingerprints, [
    'A'.repeat(43),
    'b'.repeat(43),
  ]);
});

test('database-url: parsed into parts, password kept apart and never in an error', () => {
  const s = parse({ 'database-url': 'postgres://eqmd:s%40cret@db.internal:6543/eqmd_prod?sslmode=require' });
  assert.deepEqual(s.backup.databaseUrl, {
    host: 'db.internal',
    port: 6543,
    user: 'eqmd',
    database: 'eqmd_prod',
    password: 's@cret',
    sslmode: 'require',
  });
  assert.throws(
    () => parse({ 'database-url': 'mysql://root:TopSecret1@db/x' }),
    (err: unknown) =>
      err instanceof InputError && !err.message.includes('TopSecret1') && /\*\*\*/.test(err.message),
  );
});

test('action.yml declares exactly the defaults the parser assumes, and the secrets exist', () => {
  const inputs = (
    parseYaml(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
      inputs: Record<string, { default?: unknown }>;
    }
  ).inputs;
  // The runner hands every default over as a string (an unquoted `default: 22` arrives as '22').
  const declared = Object.fromEntries(
    Object.entries(inputs)
      .filter(([, i]) => i.default !== undefined)
      .map(([name, i]) => [name, String(i.default ?? '')]),
  );
  assert.ok(Object.keys(declared).length > 0, 'action.yml declares no defaults: was it parsed?');
  // Both ways: a default only in action.yml, only in INPUT_DEFAULTS, or different in the two fails.
  assert.deepEqual(declared, INPUT_DEFAULTS);
});

test('every input action.yml documents as a secret is masked, and only those', () => {
  const inputs = (
    parseYaml(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
      inputs: Record<string, { description: string }>;
    }
  ).inputs;
  const documented = Object.entries(inputs)
    .filter(([, i]) => /\bA secret\.\s*$/.test(i.description))
    .map(([name]) => name)
    .sort();
  assert.deepEqual([...SECRET_INPUTS].sort(), documented);
  assert.ok(documented.includes('registry-password'));
});

test('TOOL_VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(TOOL_VERSION, pkg.version);
});

test('db-check-command: absent means the default, explicitly empty means skip', () => {
  assert.equal(parse({}).verify.dbCheckCommand, 'python manage.py check --database default');
  assert.equal(parse({ 'db-check-command': '' }).verify.dbCheckCommand, '');
  assert.deepEqual(parse({}).verify.staticFiles, ['manifest.json', 'sw.js']);
  assert.deepEqual(
    parse({ 'static-files': '' }).verify.staticFiles,
    [],
    'static-files: empty skips the check',
  );
  assert.equal(
    parse({ port: '' }).connection.port,
    22,
    'other empty inputs (an unset vars.X) take the default',
  );
});

test('rollback: scope only with backup-id; version and backup-id are exclusive; hostile versions refused', () => {
  rejects({ command: 'rollback', scope: 'full' }, 'scope', /unless backup-id is set/);
  rejects(
    { command: 'rollback', version: 'v1', 'backup-id': '20261124T101530Z-abcdef' },
    'backup-id',
    /not both/,
  );
  assert.equal(
    parse({ command: 'rollback', 'backup-id': '20261124T101530Z-abcdef', scope: 'full' }).rollback.scope,
    'full',
  );
  for (const hostile of ['v1;reboot', 'v1$(id)', '-v1', 'v1\nreboot', 'a'.repeat(129), 'v1 v2', '../v1']) {
    rejects({ command: 'deploy', version: hostile }, 'version', /Docker tag/);
  }
  rejects({ command: 'deploy' }, 'version', /the tag to deploy/);
  rejects({ command: 'rollback', 'backup-id': '../../etc' }, 'backup-id', /backup id/);
});

test('reporting inputs: deployments need a token, URLs are checked, secrets are never echoed', () => {
  const s = parse({
    'github-token': 'ghs_abc',
    environment: 'production',
    'environment-url': 'https://eqmd.example.org/',
    'notify-webhook': 'https://hooks.slack.com/services/T0/B0/Secret123',
  });
  assert.deepEqual(s.report, {
    githubToken: 'ghs_abc',
    environment: 'production',
    environmentUrl: 'https://eqmd.example.org/',
    notifyWebhook: 'https://hooks.slack.com/services/T0/B0/Secret123',
  });
  assert.deepEqual(parse({}).report, {
    githubToken: '',
    environment: '',
    environmentUrl: '',
    notifyWebhook: '',
  });
  assert.equal(parse({ 'github-token': 'ghs_abc' }).report.environment, '', 'a token alone records nothing');
  rejects({ environment: 'production' }, 'github-token', /deployments: write/);
  rejects({ 'environment-url': 'https://eqmd.example.org/' }, 'environment', /environment-url is set/);
  rejects(
    { 'github-token': 't', environment: 'production', 'environment-url': 'ftp://eqmd.example.org/' },
    'environment-url',
    /"ftp:\/\/eqmd\.example\.org\/".*http\(s\) URL/,
  );
  rejects(
    {
      'github-token': 't',
      environment: 'production',
      'environment-url': 'https://user:pw@eqmd.example.org/',
    },
    'environment-url',
    /without credentials/,
  );
  rejects({ 'github-token': 't', environment: 'prod\nuction' }, 'environment', /255 characters on one line/);
  for (const bad of [
    'http://hooks.example.org/T0/Secret123',
    'not a url Secret123',
    'ftp://127.0.0.1/Secret123',
  ]) {
    assert.throws(
      () => parse({ 'notify-webhook': bad }),
      (err: unknown) =>
        err instanceof InputError &&
        err.input === 'notify-webhook' &&
        /https:\/\//.test(err.message) &&
        !err.message.includes('Secret123'),
      bad,
    );
  }
  for (const local of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]:9/hook']) {
    assert.equal(parse({ 'notify-webhook': local }).report.notifyWebhook, local);
  }
  assert.ok(SECRET_INPUTS.includes('github-token') && SECRET_INPUTS.includes('notify-webhook'));
});
