/**
 * The shape of the action's settings. Reading and checking the inputs lives in src/inputs/, so the many
 * modules that only need these types do not depend on the parser.
 */
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
  /** Secret. Password authentication to the jump host (proxy-password); '' for none. */
  password: string;
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
  /**
   * What started the run (GITHUB_EVENT_NAME): an operator's `workflow_dispatch` or an automation's
   * `push`, `workflow_run`… A rollback an operator started is one an emergency rollback may undo.
   */
  event: string;
}

import type { MigrationPolicy } from './migrations/classify.js';
import type { VerifySettings } from './settings-verify.js';

export type { HealthUrl, VerifySettings } from './settings-verify.js';

export const RESTORE_DATABASE = ['auto', 'always', 'never'] as const;
export const STRATEGIES = ['recreate', 'blue-green', 'zero-downtime'] as const;

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
  /** zero-downtime: the compose service running HAProxy in front of the app. */
  haproxyService: string;
  /** zero-downtime: how long in-flight requests may finish on a version leaving rotation. */
  drainTimeoutMs: number;
  /**
   * Which classes of migrations refuse the deploy before anything changes (the new image's Django
   * classifies them): allow, or refuse destructive (and irreversible) ones, or only irreversible ones.
   */
  migrationPolicy: MigrationPolicy;
  /**
   * auto: after a rollback whose plan restored a (SQLite) database, carry the rows written since the
   * set over from the replaced one; never: leave them in the pre-restore snapshot only.
   */
  carryOver: 'auto' | 'never';
}

/**
 * What `command: rollback` goes back to. Kept apart from DeploySettings because a rollback to a named
 * version is a deploy (it reads `deploy.version`), while these two only mean something for a rollback.
 */
export interface RollbackSettings {
  /** Restore from this set ('' = emergency or named version). */
  backupId: string;
  /** Rollback from a set: what to put back; anything but 'app' needs `backupId`. */
  scope: (typeof SCOPES)[number];
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
  rollback: RollbackSettings;
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
