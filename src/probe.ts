import type { ComposeFlavor } from './compose.js';
import { bashScript, quote } from './shell.js';
import { composeLine, inProject } from './compose.js';
import type { AppSettings } from './settings.js';

/** What one read-only round trip tells about the host before anything is planned. */
export interface HostProbe {
  hostname: string;
  flavor: ComposeFlavor | 'none';
  projectDirExists: boolean;
  composeFileExists: boolean;
  envFileExists: boolean;
  /** Value of the image variable in the env file ('' when absent). */
  imageVariable: string;
  /** COMPOSE_PROJECT_NAME from the env file ('' when absent): part of compose's default project name. */
  envProjectName: string;
  /** Container ids compose reports for the service (running or not). */
  containerIds: string[];
  /** Free KiB where the backup directory is (or would be created). */
  backupFreeKb: number;
}

/**
 * The probe script: detects the compose flavour, checks the project's files, reads the image variable
 * and asks compose which containers belong to the service. It changes nothing.
 */
export function probeScript(app: AppSettings, backupDir: string): string {
  const envPath = inProject(app.projectDir, app.envFile);
  const composePath = inProject(app.projectDir, app.composeFile);
  const backupAbs = inProject(app.projectDir, backupDir);
  // The project's compose command in either flavour, as every other step builds it.
  const ps = (flavor: ComposeFlavor, ...args: string[]) =>
    composeLine(
      {
        flavor,
        projectDir: app.projectDir,
        composeFile: app.composeFile,
        project: app.composeProject,
        envFile: app.envFile,
      },
      'ps',
      ...args,
      app.service,
    );
  return bashScript([
    // Read, not forked: every process costs on a busy host.
    '{ read -r eqmd_host < /proc/sys/kernel/hostname; } 2>/dev/null || eqmd_host=$(hostname)',
    'echo "hostname=$eqmd_host"',
    `if [ -d ${quote(app.projectDir)} ]; then echo project_dir=1; else echo project_dir=0; fi`,
    `if [ -f ${quote(composePath)} ]; then echo compose_file=1; files=1; else echo compose_file=0; files=; fi`,
    `if [ -f ${quote(envPath)} ]; then echo env_file=1; else echo env_file=0; fi`,
    // The last assignment wins, as in compose; surrounding quotes are compose syntax, not part of the value.
    'env_value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$2" | tail -n 1 | sed -e \'s/^"\\(.*\\)"[[:space:]]*$/\\1/\' -e "s/^\'\\(.*\\)\'[[:space:]]*$/\\1/"; }',
    `if [ -f ${quote(envPath)} ]; then echo "image_variable=$(env_value ${quote(app.imageVariable)} ${quote(envPath)})"; echo "env_project=$(env_value COMPOSE_PROJECT_NAME ${quote(envPath)})"; fi`,
    `d=${quote(backupAbs)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
    `echo "backup_free_kb=$(df -Pk "$d" | awk 'NR==2 {print $4}')"`,
    // The flavour from the compose command the probe needs anyway (each costs a few hundred ms):
    // `docker compose ps` answering is v2; `version` is asked only when it did not.
    'flavor=none; ids=',
    `if [ -n "$files" ] && ids=$(${ps('v2', '-a', '-q')} 2>/dev/null); then flavor=v2`,
    'elif docker compose version >/dev/null 2>&1; then flavor=v2; ids=',
    'elif command -v docker-compose >/dev/null 2>&1; then',
    '  flavor=v1',
    `  if [ -n "$files" ]; then ids=$(${ps('v1', '-q')} 2>/dev/null) || ids=; fi`,
    'fi',
    'echo "flavor=$flavor"',
    `if [ "$flavor" != none ] && [ -n "$files" ]; then echo "containers=$(printf '%s' "$ids" | tr "\\n" " ")"; fi`,
  ]);
}

export function parseProbe(stdout: string): HostProbe {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const flavor = kv.get('flavor');
  return {
    hostname: kv.get('hostname') ?? '',
    flavor: flavor === 'v1' || flavor === 'v2' ? flavor : 'none',
    projectDirExists: kv.get('project_dir') === '1',
    composeFileExists: kv.get('compose_file') === '1',
    envFileExists: kv.get('env_file') === '1',
    imageVariable: kv.get('image_variable') ?? '',
    envProjectName: kv.get('env_project') ?? '',
    containerIds: (kv.get('containers') ?? '').split(/\s+/).filter(Boolean),
    backupFreeKb: Number(kv.get('backup_free_kb') ?? '0'),
  };
}
