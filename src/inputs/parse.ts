import { MIGRATION_POLICIES } from '../migrations/classify.js';
import { InputError } from '../errors.js';
import {
  COMMANDS,
  DATABASE_KINDS,
  RESTORE_DATABASE,
  SCOPES,
  STRATEGIES,
  type AppSettings,
  type BackupSettings,
  type DeploySettings,
  type InputReader,
  type LockSettings,
  type OutputSettings,
  type ReportSettings,
  type RollbackSettings,
  type RunInfo,
  type Settings,
  type VerifySettings,
} from '../settings.js';
import * as v from '../validate.js';
import { INPUT_DEFAULTS } from './catalogue.js';
import { parseConnection } from './connection.js';
import { parseHealthUrl, parsePostgresUrl, parseWebhookUrl } from './urls.js';

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
    haproxyService: v.service('haproxy-service', input('haproxy-service')),
    drainTimeoutMs: v.integer('drain-timeout', input('drain-timeout'), 1, 3600) * 1000,
    migrationPolicy: v.oneOf('migration-policy', input('migration-policy'), MIGRATION_POLICIES),
    carryOver: v.oneOf('carry-over', input('carry-over'), ['auto', 'never'] as const),
  };
  const rollback: RollbackSettings = {
    backupId: input('backup-id') && v.backupId('backup-id', input('backup-id')),
    scope: v.oneOf('scope', input('scope'), SCOPES),
  };
  if (command === 'rollback' && !rollback.backupId && rollback.scope !== 'app') {
    throw new InputError(
      'scope',
      rollback.scope,
      'app (or nothing) unless backup-id is set: emergency and version rollbacks restore image and env',
    );
  }
  if (command === 'rollback' && deploy.version && rollback.backupId) {
    throw new InputError(
      'backup-id',
      rollback.backupId,
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
    event: env.GITHUB_EVENT_NAME ?? '',
  };
  const lock: LockSettings = {
    timeoutMs: v.integer('lock-timeout', input('lock-timeout'), 0, 86400) * 1000,
    breakStale: v.bool('break-stale-lock', input('break-stale-lock')),
  };
  const report = parseReport(input);
  return { command, lock, connection, app, backup, deploy, rollback, verify, output, report, run };
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
