import { InputError } from './errors.js';
import * as v from './validate.js';

export const COMMANDS = ['backup', 'list', 'deploy', 'verify', 'rollback'] as const;
export const SCOPES = ['app', 'database', 'static', 'volumes', 'full'] as const;
export type Command = (typeof COMMANDS)[number];
export const DATABASE_KINDS = ['auto', 'sqlite', 'postgres', 'none'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export interface JumpHost {
  host: string;
  port: number;
  username: string;
  /** Base64 SHA-256 fingerprints (without the `SHA256:` prefix) accepted for the jump host. */
  fingerprints: string[];
  privateKey: string;
  passphrase: string;
}

export interface ConnectionSettings {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase: string;
  password: string;
  /** Base64 SHA-256 fingerprints (without the `SHA256:` prefix) accepted for the host. */
  fingerprints: string[];
  /** OpenSSH known_hosts text; checked in addition to `fingerprints`. */
  knownHosts: string;
  insecureIgnoreHostKey: boolean;
  jump: JumpHost | null;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export interface AppSettings {
  /** Absolute compose project directory on the host. */
  projectDir: string;
  composeFile: string;
  /** Empty: whatever compose itself uses (directory name, COMPOSE_PROJECT_NAME...). */
  composeProject: string;
  service: string;
  envFile: string;
  imageVariable: string;
  /** Registry repository without tag; empty: the repository of the running image. */
  image: string;
}

export interface PostgresUrl {
  host: string;
  port: number;
  user: string;
  database: string;
  /** Secret: travels on stdin into PGPASSWORD, never on a command line. */
  password: string;
  sslmode: string;
}

export interface BackupSettings {
  /** Absolute, or relative to projectDir. */
  dir: string;
  database: DatabaseKind;
  sqlitePath: string;
  postgresService: string;
  databaseUrl: PostgresUrl | null;
  /** 'auto' = every named volume the service mounts, except the SQLite one; [] = none. */
  volumes: 'auto' | string[];
  /** 0 keeps every set. */
  keep: number;
}

export interface OutputSettings {
  uploadArtifact: boolean;
  artifactName: string;
  artifactRetentionDays: number;
  dryRun: boolean;
  /**
   * Publish the app's own output of a failed verification (health body, check output, log lines) in
   * the summary, incident note and artifact, capped and with secrets masked. Off: it is kept on the
   * host and the runner only, since it can carry patient data.
   */
  publishAppOutput: boolean;
  /** Keep the host's address in the uploaded manifests (off: blanked, as examples keep it secret). */
  publishHostAddress: boolean;
}

/** The workflow run that caused this action to run; recorded in manifests. */
export interface RunInfo {
  repository: string;
  sha: string;
  runId: string;
  runAttempt: string;
  actor: string;
  workflow: string;
  serverUrl: string;
}

export const RESTORE_DATABASE = ['auto', 'always', 'never'] as const;
export const STRATEGIES = ['recreate', 'blue-green'] as const;

export interface DeploySettings {
  /** The tag to deploy ('' when the command does not deploy). */
  version: string;
  registryUsername: string;
  /** Secret: reaches `docker login --password-stdin` on stdin only. */
  registryPassword: string;
  /** Run in a throwaway container of the new image before anything changes. */
  preDeployCommand: string;
  autoRollback: boolean;
  /** auto: restore when the schema fingerprint no longer matches the pre-deploy backup. */
  restoreDatabase: (typeof RESTORE_DATABASE)[number];
  strategy: (typeof STRATEGIES)[number];
  stagingPort: number;
  /** rollback: restore from this set ('' = emergency or named version). */
  backupId: string;
  /** rollback from a set: what to put back. */
  scope: (typeof SCOPES)[number];
}

export interface HealthUrl {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
  /** Path and query, e.g. /health/. */
  path: string;
}

export interface VerifySettings {
  health: HealthUrl;
  healthTimeoutMs: number;
  healthIntervalMs: number;
  /** Run in the service container; '' skips the check. */
  dbCheckCommand: string;
  staticFiles: string[];
  staticPath: string;
  smokeCommands: string[];
}

export interface LockSettings {
  timeoutMs: number;
  /** Remove a lock judged stale instead of stopping (never a live one). */
  breakStale: boolean;
}

/** Where a deploy or rollback is reported besides the job log. Every part is optional. */
export interface ReportSettings {
  /** Secret. With `environment`: deploys and rollbacks are recorded as GitHub deployments. */
  githubToken: string;
  /** GitHub environment name, e.g. production; '' records no deployments. */
  environment: string;
  /** Shown on the environment's deployments; '' for none. */
  environmentUrl: string;
  /** Secret (the URL is the credential): receives a JSON message on rollback and on failure. */
  notifyWebhook: string;
}

export interface Settings {
  command: Command;
  lock: LockSettings;
  connection: ConnectionSettings;
  app: AppSettings;
  backup: BackupSettings;
  deploy: DeploySettings;
  verify: VerifySettings;
  output: OutputSettings;
  report: ReportSettings;
  run: RunInfo;
}

/**
 * Reads one input by its action.yml name: undefined when the input is absent altogether, '' when it was
 * given empty (e.g. an unset `${{ vars.X }}`). The runner fills declared defaults for absent inputs.
 */
export type InputReader = (name: string) => string | undefined;

/** The runner's convention: INPUT_<NAME> with spaces as _, upper-cased, hyphens kept. */
export function envInput(env: NodeJS.ProcessEnv): InputReader {
  return (name) => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
}

/**
 * Reads and validates every input once, before any connection. `defaults` mirrors action.yml so the
 * same rules hold when the action is run outside a runner (tests, the demo).
 */
export function parseSettings(read: InputReader, env: NodeJS.ProcessEnv): Settings {
  const input = (name: string): string => (read(name) || INPUT_DEFAULTS[name] || '').trim();
  const required = (name: string, expected: string): string => {
    const value = input(name);
    if (!value) throw new InputError(name, value, expected);
    return value;
  };

  const command = v.oneOf('command', required('command', COMMANDS.join(' | ')), COMMANDS);
  const connection = parseConnection(input, required);
  const app: AppSettings = {
    projectDir: v.path('project-dir', required('project-dir', 'an absolute path'), { absolute: true }),
    composeFile: v.path('compose-file', input('compose-file')),
    composeProject: input('compose-project') && v.composeProject('compose-project', input('compose-project')),
    service: v.service('service', input('service')),
    envFile: v.path('env-file', input('env-file')),
    imageVariable: v.envVariable('image-variable', input('image-variable')),
    image: input('image') && v.imageRepository('image', input('image')),
  };
  const volumes = input('volumes');
  const backup: BackupSettings = {
    dir: v.path('backup-dir', input('backup-dir')),
    database: v.oneOf('database', input('database'), DATABASE_KINDS),
    sqlitePath: v.path('sqlite-path', input('sqlite-path'), { absolute: true }),
    postgresService: v.service('postgres-service', input('postgres-service')),
    databaseUrl: input('database-url') ? parsePostgresUrl(input('database-url')) : null,
    volumes:
      volumes === 'auto'
        ? 'auto'
        : volumes === 'none'
          ? []
          : v.list(volumes).map((n) => v.volumeName('volumes', n)),
    keep: v.integer('keep-backups', input('keep-backups'), 0, 1000),
  };
  if (backup.database === 'sqlite' && backup.databaseUrl) {
    throw new InputError('database-url', '***', "empty when database is 'sqlite'");
  }
  const output: OutputSettings = {
    uploadArtifact: v.bool('upload-artifact', input('upload-artifact')),
    artifactName: input('artifact-name') && v.artifactName('artifact-name', input('artifact-name')),
    artifactRetentionDays: v.integer('artifact-retention-days', input('artifact-retention-days'), 0, 90),
    dryRun: v.bool('dry-run', input('dry-run')),
    publishAppOutput: v.bool('publish-app-output', input('publish-app-output')),
    publishHostAddress: v.bool('publish-host-address', input('publish-host-address')),
  };
  const version = input('version');
  if (command === 'deploy' && !version) throw new InputError('version', '', 'the tag to deploy, e.g. v1.2.0');
  const registryUsername = input('registry-username');
  const registryPassword = input('registry-password');
  if (!!registryUsername !== !!registryPassword) {
    throw new InputError(
      registryUsername ? 'registry-password' : 'registry-username',
      '',
      'both registry-username and registry-password, or neither',
    );
  }
  const deploy: DeploySettings = {
    version: version && v.tag('version', version),
    registryUsername: registryUsername && v.singleLine('registry-username', registryUsername),
    registryPassword,
    preDeployCommand: input('pre-deploy-command'),
    autoRollback: v.bool('auto-rollback', input('auto-rollback')),
    restoreDatabase: v.oneOf('restore-database', input('restore-database'), RESTORE_DATABASE),
    strategy: v.oneOf('strategy', input('strategy'), STRATEGIES),
    stagingPort: v.integer('staging-port', input('staging-port'), 1, 65535),
    backupId: input('backup-id') && v.backupId('backup-id', input('backup-id')),
    scope: v.oneOf('scope', input('scope'), SCOPES),
  };
  if (command === 'rollback' && !deploy.backupId && deploy.scope !== 'app') {
    throw new InputError(
      'scope',
      deploy.scope,
      'app (or nothing) unless backup-id is set: emergency and version rollbacks restore image and env',
    );
  }
  if (command === 'rollback' && deploy.version && deploy.backupId) {
    throw new InputError(
      'backup-id',
      deploy.backupId,
      'empty when version is set (roll back to a version, or to a backup set, not both)',
    );
  }
  const healthTimeout = v.integer('health-timeout', input('health-timeout'), 1, 3600);
  const verify: VerifySettings = {
    health: parseHealthUrl(input('health-url')),
    healthTimeoutMs: healthTimeout * 1000,
    healthIntervalMs: v.integer('health-interval', input('health-interval'), 1, healthTimeout) * 1000,
    // Documented "empty = skip": only for these two does an explicitly empty value not fall back to
    // the default (an unset input is absent; `static-files: ''` says there are none to check).
    dbCheckCommand: (read('db-check-command') ?? INPUT_DEFAULTS['db-check-command'] ?? '').trim(),
    staticFiles: v
      .list(read('static-files') ?? INPUT_DEFAULTS['static-files'] ?? '')
      .map((f) => v.path('static-files', f)),
    staticPath: v.path('static-path', input('static-path'), { absolute: true }),
    smokeCommands: (read('smoke-commands') || '')
      .split('\n')
      .map((c) => c.trim())
      .filter(Boolean),
  };
  const run: RunInfo = {
    repository: env.GITHUB_REPOSITORY ?? '',
    sha: env.GITHUB_SHA ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    serverUrl: env.GITHUB_SERVER_URL ?? '',
  };
  const lock: LockSettings = {
    timeoutMs: v.integer('lock-timeout', input('lock-timeout'), 0, 86400) * 1000,
    breakStale: v.bool('break-stale-lock', input('break-stale-lock')),
  };
  const report = parseReport(input);
  return { command, lock, connection, app, backup, deploy, verify, output, report, run };
}

function parseReport(input: (name: string) => string): ReportSettings {
  const githubToken = input('github-token');
  const environment = input('environment') && v.environmentName('environment', input('environment'));
  const environmentUrl = input('environment-url') && v.webUrl('environment-url', input('environment-url'));
  if (environment && !githubToken) {
    // Asking for records and silently getting none would be worse than stopping here.
    throw new InputError(
      'github-token',
      '',
      'a token allowed to write deployments (e.g. ${{ github.token }} with permissions: deployments: write) when environment is set',
    );
  }
  if (environmentUrl && !environment) {
    throw new InputError(
      'environment',
      '',
      'the GitHub environment name (e.g. production) when environment-url is set',
    );
  }
  const notifyWebhook = input('notify-webhook') && parseWebhookUrl(input('notify-webhook'));
  return { githubToken, environment, environmentUrl, notifyWebhook };
}

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

function parseConnection(
  input: (name: string) => string,
  required: (name: string, expected: string) => string,
): ConnectionSettings {
  const hostName = v.host('host', required('host', 'a host name or IP address'));
  const username = v.username('username', required('username', 'the SSH user name on the host'));
  const privateKey = input('private-key');
  const password = input('password');
  if (!privateKey && !password) {
    throw new InputError('private-key', '', 'a private key (or the password input) to authenticate with');
  }
  const fingerprints = v.fingerprints('host-fingerprint', input('host-fingerprint'));
  const knownHosts = input('known-hosts');
  const insecureIgnoreHostKey = v.bool('insecure-ignore-host-key', input('insecure-ignore-host-key'));
  if (!fingerprints.length && !knownHosts && !insecureIgnoreHostKey) {
    throw new InputError(
      'host-fingerprint',
      '',
      "the host key's fingerprint (run `ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub` on the host, " +
        'or `ssh-keyscan -p PORT HOST | ssh-keygen -lf -` from a trusted machine), or known-hosts lines. ' +
        'Setting insecure-ignore-host-key: true accepts any host key and exposes the connection to interception',
    );
  }
  const proxyHost = input('proxy-host');
  let jump: JumpHost | null = null;
  if (proxyHost) {
    const proxyFingerprints = v.fingerprints('proxy-host-fingerprint', input('proxy-host-fingerprint'));
    if (!proxyFingerprints.length && !knownHosts && !insecureIgnoreHostKey) {
      throw new InputError(
        'proxy-host-fingerprint',
        '',
        "the jump host's SHA256 fingerprint (or known-hosts lines for it)",
      );
    }
    jump = {
      host: v.host('proxy-host', proxyHost),
      port: v.integer('proxy-port', input('proxy-port'), 1, 65535),
      username: input('proxy-username') ? v.username('proxy-username', input('proxy-username')) : username,
      fingerprints: proxyFingerprints,
      // Without its own key the jump host is reached with the same key as the target, as `ssh -J` does.
      privateKey: input('proxy-private-key') || privateKey,
      passphrase: input('proxy-private-key') ? '' : input('passphrase'),
    };
  }
  return {
    host: hostName,
    port: v.integer('port', input('port'), 1, 65535),
    username,
    privateKey,
    passphrase: input('passphrase'),
    password,
    fingerprints,
    knownHosts,
    insecureIgnoreHostKey,
    jump,
    connectTimeoutMs: v.integer('connect-timeout', input('connect-timeout'), 1, 600) * 1000,
    commandTimeoutMs: v.integer('command-timeout', input('command-timeout'), 1, 86400) * 1000,
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

/** The defaults declared in action.yml, kept in one table (a unit test checks they agree). */
export const INPUT_DEFAULTS: Record<string, string> = {
  port: '22',
  'insecure-ignore-host-key': 'false',
  'proxy-port': '22',
  'connect-timeout': '30',
  'command-timeout': '600',
  'compose-file': 'docker-compose.yml',
  service: 'eqmd',
  'env-file': '.env',
  'image-variable': 'EQMD_IMAGE',
  'backup-dir': 'backups',
  database: 'auto',
  'sqlite-path': '/app/database/db.sqlite3',
  'postgres-service': 'postgres',
  volumes: 'auto',
  'keep-backups': '10',
  'upload-artifact': 'true',
  'artifact-retention-days': '0',
  'dry-run': 'false',
  'publish-app-output': 'false',
  'publish-host-address': 'false',
  'auto-rollback': 'true',
  'restore-database': 'auto',
  strategy: 'recreate',
  'staging-port': '8779',
  'health-url': 'http://localhost:8778/health/',
  'health-timeout': '60',
  'health-interval': '2',
  'db-check-command': 'python manage.py check --database default',
  'static-files': 'manifest.json, sw.js',
  'static-path': '/app/staticfiles',
  'lock-timeout': '300',
  scope: 'app',
  'break-stale-lock': 'false',
};

/** Inputs whose values are secrets: masked in logs as soon as they are read. */
export const SECRET_INPUTS = [
  'private-key',
  'passphrase',
  'password',
  'proxy-private-key',
  'database-url',
  'registry-password',
  'github-token',
  'notify-webhook',
] as const;
