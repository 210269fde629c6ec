import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors.js';
import * as v from '../../src/validate.js';

/**
 * Every validator as a table of accepted and rejected values, with the boundaries (lengths, first
 * characters, ranges) on both sides: loosening or tightening any rule fails a row.
 */

type Check = (value: string) => unknown;
const cases: [string, Check, string[], string[]][] = [
  [
    'host',
    (x) => v.host('host', x),
    [
      'deploy.example.org',
      'web1',
      '10.0.0.5',
      '::1',
      'fe80::1',
      'a'.repeat(63),
      `${'a'.repeat(63)}.b`,
      'host.',
    ],
    [
      '',
      'bad host',
      'a;reboot',
      '-oProxyCommand=x',
      'a'.repeat(64),
      '$(id)',
      'a..b',
      'a_b',
      `${'a.'.repeat(127)}ab`,
    ],
  ],
  [
    'username',
    (x) => v.username('username', x),
    ['deploy', 'a', '_svc', 'ci.user-1', 'u'.repeat(32)],
    ['', '-oProxyCommand=x', '.hidden', 'u'.repeat(33), 'a b', 'a;b', 'root\n'],
  ],
  [
    'compose-project',
    (x) => v.composeProject('compose-project', x),
    ['eqmd', 'eqmd-a', 'eqmd_b', '0eqmd', 'p'.repeat(63)],
    ['', 'Eqmd', '-eqmd', '_eqmd', 'p'.repeat(64), 'a.b', 'a b'],
  ],
  [
    'service',
    (x) => v.service('service', x),
    ['eqmd', 'Web', 'web.1', 'web_1', 's'.repeat(63)],
    ['', '-web', '.web', '_web', 's'.repeat(64), 'a b', 'a/b'],
  ],
  [
    'image-variable',
    (x) => v.envVariable('image-variable', x),
    ['EQMD_IMAGE', '_X', 'a1', 'V'.repeat(128)],
    ['', '1X', 'EQMD-IMAGE', 'A B', 'A=B', 'V'.repeat(129)],
  ],
  [
    'volumes',
    (x) => v.volumeName('volumes', x),
    ['media', 'eqmd-a_media_files', '0v', 'v.1', 'v'.repeat(128)],
    ['', '-rf', '.v', '_v', 'v'.repeat(129), 'a b', 'a/b', 'a;b'],
  ],
  [
    'image',
    (x) => v.imageRepository('image', x),
    ['eqmd', 'org/eqmd', 'ghcr.io/org/eqmd', '127.0.0.1:5000/eqmd', 'localhost:5000/a/b', 'a__b', 'a--b'],
    ['', 'Org/eqmd', 'eqmd:v1', 'eqmd@sha256:abc', '/eqmd', 'eqmd/', 'a_-b', `${'a'.repeat(256)}`, 'a b'],
  ],
  [
    'version',
    (x) => v.tag('version', x),
    ['v1', '1.2.0', '_x', 'V'.repeat(128), 'a-b_c.d'],
    ['', '-v1', '.v1', 'v1;reboot', 'v1$(id)', 'v1\n', 'V'.repeat(129), 'v1/x', 'v1:x'],
  ],
  [
    'backup-id',
    (x) => v.backupId('backup-id', x),
    ['20261124T101530Z-3fa9c1', '00000000T000000Z-000000'],
    [
      '',
      '20261124T101530Z-3FA9C1',
      '20261124T101530Z-3fa9c',
      '20261124T101530-3fa9c1',
      '20261124T101530Z-3fa9c1x',
      '../x',
    ],
  ],
  [
    'artifact-name',
    (x) => v.artifactName('artifact-name', x),
    ['eqmd backup', 'a', 'x'.repeat(200)],
    ['', 'a/b', 'a\\b', 'a:b', 'a"b', 'a<b', 'a|b', 'a*b', 'a?b', 'x'.repeat(201), 'a\nb'],
  ],
  [
    'pre-deploy-command',
    (x) => v.singleLine('pre-deploy-command', x),
    ['python manage.py migrate --plan', 'x'.repeat(256)],
    ['', 'a\nb', 'a\rb', 'x'.repeat(257), 'a\u0000b'],
  ],
  [
    'environment',
    (x) => v.environmentName('environment', x),
    ['production', 'staging eu', 'x'.repeat(255)],
    ['', 'a\nb', 'x'.repeat(256)],
  ],
  [
    'environment-url',
    (x) => v.webUrl('environment-url', x),
    ['https://eqmd.example.org/', 'http://10.0.0.5:8080/app'],
    [
      '',
      'ftp://x',
      'https://user:pw@x/',
      'https://user@x/',
      'javascript:alert(1)',
      'not a url',
      'https://x/\n',
    ],
  ],
  [
    'project-dir',
    (x) => v.path('project-dir', x, { absolute: true }),
    ['/srv/eqmd', '/', '/a b/c', '/srv/..x'],
    ['srv/eqmd', '', '/srv/../etc', '/srv/..', '/a\nb', '/a\u0000b'],
  ],
  [
    'backup-dir',
    (x) => v.path('backup-dir', x),
    ['backups', '/var/backups/eqmd', 'a/b'],
    ['', '../backups', 'a/../b', 'a\nb'],
  ],
  [
    'port',
    (x) => v.integer('port', x, 1, 65535),
    ['1', '22', '65535'],
    ['0', '65536', '', '-1', '22x', '1.5', ' 22', '0x16'],
  ],
  [
    'auto-rollback',
    (x) => v.bool('auto-rollback', x),
    ['true', 'True', 'TRUE', 'false', 'False', 'FALSE'],
    ['', 'yes', '1', 'tRue', ' true'],
  ],
  [
    'database',
    (x) => v.oneOf('database', x, ['auto', 'sqlite', 'postgres', 'none'] as const),
    ['auto', 'sqlite', 'postgres', 'none'],
    ['', 'Auto', 'mysql', 'sqlite '],
  ],
  [
    'host-fingerprint',
    (x) => v.fingerprints('host-fingerprint', x),
    [
      `SHA256:${'A'.repeat(43)}`,
      `SHA256:${'a+/'.repeat(14)}b=`,
      `SHA256:${'A'.repeat(43)}, SHA256:${'B'.repeat(43)}`,
    ],
    [
      `SHA256:${'A'.repeat(42)}`,
      `SHA256:${'A'.repeat(44)}`,
      `MD5:${'A'.repeat(43)}`,
      `sha256:${'A'.repeat(43)}`,
      'SHA256:' + '!'.repeat(43),
    ],
  ],
];

test('every validator accepts its table and rejects the rest, naming the input and quoting the value', () => {
  for (const [input, check, accept, reject] of cases) {
    for (const value of accept)
      assert.doesNotThrow(() => check(value), `${input}: ${JSON.stringify(value)} must pass`);
    for (const value of reject)
      assert.throws(
        () => check(value),
        (err: unknown) => err instanceof InputError && err.input === input,
        `${input}: ${JSON.stringify(value)} must be refused`,
      );
  }
});

test('values are returned as given, paths without a trailing slash, fingerprints as their base64', () => {
  assert.equal(v.path('project-dir', '/srv/eqmd/', { absolute: true }), '/srv/eqmd');
  assert.equal(v.path('project-dir', '/', { absolute: true }), '/');
  assert.deepEqual(
    v.fingerprints('host-fingerprint', `SHA256:${'A'.repeat(43)}=\nSHA256:${'B'.repeat(43)}`),
    ['A'.repeat(43), 'B'.repeat(43)],
  );
  assert.equal(v.integer('port', '0022', 1, 65535), 22);
  assert.deepEqual(v.list(' a, b\n\nc ,'), ['a', 'b', 'c']);
});
