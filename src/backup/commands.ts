import { argv, bashScript, quote, readSecretLine, receiveStdin, stdinProof } from '../shell.js';
import type { PostgresUrl } from '../settings.js';
import { SQLITE_COPY_PY } from './sqlite-copy.js';
import type { Step } from './steps.js';

/** Where a set is built and where it ends up: the temporary name is hidden from listings. */
export interface SetPaths {
  backupDir: string;
  tmp: string;
  final: string;
}

export function setPaths(backupDir: string, id: string): SetPaths {
  return { backupDir, tmp: `${backupDir}/.tmp-${id}`, final: `${backupDir}/${id}` };
}

/** Backup tags are namespaced by compose project so one instance never sees another's. */
export function backupTag(project: string, id: string): string {
  return `eqmd-rollback/${project}:${id}`;
}

export const HELPER_LABEL = 'eqmd-rollback.helper';
/**
 * The project dir a helper container works for. A helper can outlive an interrupted run (its client
 * killed between `docker run` and the script's trap); the next run holding that project's lock removes
 * it, and no other project's.
 */
export const HELPER_PROJECT_LABEL = 'eqmd-rollback.project-dir';

/** What labels a helper container: the operation's id and the project dir whose lock covers it. */
export interface HelperOwner {
  id: string;
  projectDir: string;
}

export function helperLabelArgs(o: HelperOwner): string[] {
  return ['--label', `${HELPER_LABEL}=${o.id}`, '--label', `${HELPER_PROJECT_LABEL}=${o.projectDir}`];
}

/**
 * Removes what interrupted runs of this project left: helper containers, and temporary sets (by the
 * owner file prepareStep writes; a set cut off before it has one holds nothing yet and is left to the
 * post step). Only under the project's lock: no run of this project can be using them.
 */
export function sweepHelpersStep(projectDir: string, backupDir: string): Step {
  return {
    title: 'Remove helper containers and temporary sets left by interrupted runs',
    command: bashScript(
      [
        `docker ps -aq --filter ${quote(`label=${HELPER_PROJECT_LABEL}=${projectDir}`)} | while read -r c; do`,
        '  name=$(docker inspect -f "{{.Name}}" "$c" 2>/dev/null || echo "$c")',
        '  docker rm -f "$c" >/dev/null && echo "removed=${name#/}"',
        'done',
        '[ -d "$2" ] || exit 0',
        'for d in "$2"/.tmp-*/; do',
        `  if [ -f "$d${TMP_OWNER_FILE}" ] && [ "$(cat "$d${TMP_OWNER_FILE}")" = "$1" ]; then`,
        '    d=${d%/}',
        '    rm -rf -- "$d"',
        '    echo "removed_set=${d##*/}"',
        '  fi',
        'done',
      ],
      [projectDir, backupDir],
    ),
  };
}

/**
 * Inside a temporary set: the project dir it is made for. A run that holds that project's lock removes
 * the temporary sets an interrupted run of the same project left (a backup dir may be shared by
 * several projects, whose temporary sets it must not touch).
 */
export const TMP_OWNER_FILE = '.eqmd-owner';

export function prepareStep(p: SetPaths, envPath: string, composePath: string, projectDir: string): Step {
  return {
    title: 'Create the temporary backup set and copy the env and compose files',
    command: bashScript([
      `mkdir -p ${quote(p.backupDir)}`,
      `mkdir ${quote(p.tmp)}`,
      // umask is not enough: a default ACL on the parent (common on shared hosts) overrides it.
      `chmod go= ${quote(p.tmp)}`,
      `printf '%s\\n' ${quote(projectDir)} > ${quote(`${p.tmp}/${TMP_OWNER_FILE}`)}`,
      `cp -- ${quote(envPath)} ${quote(`${p.tmp}/env`)}`,
      `cp -- ${quote(composePath)} ${quote(`${p.tmp}/compose.yml`)}`,
    ]),
  };
}

export function tagImageStep(imageId: string, tag: string): Step {
  return {
    title: `Keep the running image as ${tag}`,
    command: bashScript([argv('docker', 'tag', imageId, tag)]),
  };
}

export function helperName(id: string): string {
  return `eqmd-rollback-helper-${id}`;
}

/**
 * A container of the service's image that mounts the (stopped) service's volumes at the same paths
 * and only sleeps: the backup API can run in it when the app itself cannot be exec'd.
 */
export function startHelperCommand(owner: HelperOwner, serviceContainer: string, image: string): string {
  return `${argv('docker', 'run', '-d', '--name', helperName(owner.id), ...helperLabelArgs(owner), '--network', 'none', '--volumes-from', serviceContainer, '--entrypoint', 'sh', image, '-c', 'sleep 86400')} >/dev/null`;
}

/**
 * SQLite through the backup API inside the app container (or, when the service is stopped, a helper
 * container mounting its volumes), then copied out and checksummed on the host.
 */
export function sqliteStep(
  p: SetPaths,
  target: { containerId: string; running: boolean; image: string },
  sqlitePath: string,
  owner: HelperOwner,
): Step {
  const { id } = owner;
  const inContainer = `/tmp/eqmd-rollback-${id}.sqlite3`;
  const dest = `${p.tmp}/database.sqlite3`;
  const containerId = target.running ? target.containerId : helperName(id);
  const cleanup = target.running
    ? `${argv('docker', 'exec', containerId, 'rm', '-f', inContainer)} >/dev/null 2>&1 || true`
    : `docker rm -f ${helperName(id)} >/dev/null 2>&1 || true`;
  return {
    title: `Copy the SQLite database ${sqlitePath} with the backup API and verify the copy`,
    command: bashScript([
      // The trap first: a helper created by a `docker run` cut short is removed too.
      `trap ${quote(cleanup)} EXIT`,
      ...(target.running ? [] : [startHelperCommand(owner, target.containerId, target.image)]),
      'py=$(' +
        argv('docker', 'exec', containerId, 'sh', '-c', 'command -v python3 || command -v python') +
        ') || ' +
        `{ echo 'no python in the app container: cannot use the SQLite backup API' >&2; exit 3; }`,
      // The script is part of this command's text (a heredoc), not stdin: a cut connection cannot
      // hand Python half a program.
      `report=$(${argv('docker', 'exec', '-i', containerId)} "$py" - ${argv(sqlitePath, inContainer)} <<'PY'\n${SQLITE_COPY_PY}\nPY\n)`,
      `echo "report=$report"`,
      `${argv('docker', 'exec', containerId, 'cat', inContainer)} > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `echo "host_sha256=$(sha256sum < ${quote(dest)} | cut -d' ' -f1)"`,
    ]),
  };
}

/** Counts the rows of each COPY block in pg_restore's SQL output; fails if a block is cut short. */
const COUNT_COPY_ROWS = `awk '/^COPY [^ ]+ .*FROM stdin;$/ {t=$2; n=0; b=1; next} b && /^\\\\\\.$/ {print "table=" t "=" n; b=0; next} b {n++} END {if (b) exit 3}'`;
/** Comments and blank lines carry versions and timestamps, not schema. */
const SCHEMA_FINGERPRINT = `grep -v -e '^--' -e '^$' | sha256sum | cut -d' ' -f1`;

/**
 * pg_dump -Fc through the compose service's own container (credentials from its POSTGRES_* env), then a
 * full read of the dump with pg_restore: row counts per table and a schema fingerprint.
 */
export function postgresServiceStep(p: SetPaths, containerId: string): Step {
  const dest = `${p.tmp}/database.dump`;
  // Evaluated inside the postgres container; the password never appears on a command line.
  const creds =
    'PGPASSWORD="${POSTGRES_PASSWORD:-$(cat "${POSTGRES_PASSWORD_FILE:-/dev/null}")}"; export PGPASSWORD; ' +
    'u="${POSTGRES_USER:-postgres}"; db="${POSTGRES_DB:-$u}"; ';
  const inPg = (tool: string): string =>
    argv('docker', 'exec', '-i', containerId, 'sh', '-c', `${creds}${tool}`);
  return {
    title: 'Dump PostgreSQL (pg_dump -Fc) through its compose service and read the dump back in full',
    command: bashScript([
      `${inPg('exec pg_dump -Fc -h 127.0.0.1 -U "$u" "$db"')} > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `${argv('docker', 'exec', '-i', containerId, 'pg_restore', '-f', '-')} < ${quote(dest)} | ${COUNT_COPY_ROWS}`,
      `echo "schema=$(${argv('docker', 'exec', '-i', containerId, 'pg_restore', '--schema-only', '-f', '-')} < ${quote(dest)} | ${SCHEMA_FINGERPRINT})"`,
    ]),
  };
}

/** pg_dump -Fc from the host with database-url; the password arrives on stdin into PGPASSWORD. */
export function postgresUrlStep(p: SetPaths, url: PostgresUrl): Step {
  const dest = `${p.tmp}/database.dump`;
  const conn = ['-h', url.host, '-p', String(url.port), '-U', url.user];
  return {
    title: `Dump PostgreSQL ${url.user}@${url.host}:${url.port}/${url.database} from the host and read the dump back in full`,
    command: bashScript([
      `for t in pg_dump pg_restore; do command -v $t >/dev/null || { echo "$t is not installed on the host (needed for database-url)" >&2; exit 3; }; done`,
      readSecretLine('PGPASSWORD', 'the database password'),
      'export PGPASSWORD',
      ...(url.sslmode ? [`export PGSSLMODE=${quote(url.sslmode)}`] : []),
      `${argv('pg_dump', '-Fc', ...conn, '-d', url.database)} > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `pg_restore -f - ${quote(dest)} | ${COUNT_COPY_ROWS}`,
      `echo "schema=$(pg_restore --schema-only -f - ${quote(dest)} | ${SCHEMA_FINGERPRINT})"`,
    ]),
    stdin: `${url.password}\n`,
    stdinNote: 'the database password',
  };
}

export interface VolumeToArchive {
  /** The Docker volume name, e.g. eqmd-a_media_files. */
  name: string;
  /** Where the service mounts it ('' when it does not). */
  mountpoint: string;
}

/**
 * Archives a volume with the engine's archive endpoint (`docker cp`) from a created-but-never-started
 * container of an image already on the host: no helper image has to be pulled, nothing runs.
 */
export function volumeStep(
  p: SetPaths,
  volume: VolumeToArchive,
  helperImage: string,
  owner: HelperOwner,
): Step {
  const dest = `${p.tmp}/volumes/${volume.name}.tar`;
  const name = `eqmd-rollback-archive-${owner.id}`;
  return {
    title: `Archive volume ${volume.name} and list the archive`,
    command: bashScript([
      `mkdir -p ${quote(`${p.tmp}/volumes`)}`,
      // Named, and the trap first: a create cut short leaves nothing the trap cannot find.
      `trap ${quote(`docker rm -f ${name} >/dev/null 2>&1 || true`)} EXIT`,
      `docker rm -f ${name} >/dev/null 2>&1 || true`,
      `${argv('docker', 'create', '--name', name, ...helperLabelArgs(owner), '--network', 'none', '--entrypoint', 'true', '-v', `${volume.name}:/eqmd-volume:ro`, helperImage)} >/dev/null`,
      `docker cp ${name}:/eqmd-volume - > ${quote(dest)}`,
      `sync ${quote(dest)}`,
      `tar -tvf ${quote(dest)} | awk '{n++; if ($1 ~ /^-/) b += $3} END {print "entries=" n+0; print "content_bytes=" b+0}'`,
    ]),
  };
}

/** Syncs every file, then reads each back in full for its size and SHA-256. */
export function checksumStep(p: SetPaths): Step {
  return {
    title: 'Sync every file and record its size and SHA-256',
    command: bashScript([
      `cd ${quote(p.tmp)}`,
      `find . -type f ! -name manifest.json ! -name ${TMP_OWNER_FILE} -print0 | xargs -0 -r sync --`,
      `find . -type f ! -name manifest.json ! -name ${TMP_OWNER_FILE} | sed 's|^\\./||' | sort | while IFS= read -r f; do`,
      `  printf 'file=%s=%s=%s\\n' "$(stat -c %s "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"`,
      'done',
    ]),
  };
}

/**
 * Writes the manifest, then makes the set appear under its final name in one rename. The manifest
 * arrives on stdin and is proven whole (length and SHA-256) before the rename: a set is never
 * committed with a manifest cut short by a dropped connection.
 */
export function finalizeStep(p: SetPaths, manifestJson: string): Step {
  const part = quote(`${p.tmp}/manifest.json.part`);
  return {
    title: 'Write manifest.json and rename the set into place',
    command: bashScript(
      [
        ...receiveStdin(part),
        `sync ${part}`,
        `mv -f ${part} ${quote(`${p.tmp}/manifest.json`)}`,
        `rm -f ${quote(`${p.tmp}/${TMP_OWNER_FILE}`)}`,
        `sync ${quote(`${p.tmp}/manifest.json`)} ${quote(p.tmp)}`,
        `mv -T ${quote(p.tmp)} ${quote(p.final)}`,
        `sync ${quote(p.backupDir)}`,
      ],
      stdinProof(manifestJson),
    ),
    stdin: manifestJson,
    stdinNote: 'manifest.json',
  };
}

/**
 * Writes a text into a file only the deploy user can read (umask 077), proven whole before it is
 * renamed into place: how the app's output of a failed verification is kept beside its backup set.
 */
export function keepFileStep(path: string, text: string): Step {
  const part = quote(`${path}.part`);
  return {
    title: `Keep ${path} (readable by the deploy user only)`,
    command: bashScript(
      [...receiveStdin(part), `chmod 600 ${part}`, `mv -f ${part} ${quote(path)}`],
      stdinProof(text),
    ),
    stdin: text,
    stdinNote: 'the text',
  };
}

/** Undoes a failed backup: the partial set, helper containers, the in-container copy, the tag. */
export function cleanupStep(
  p: SetPaths,
  id: string,
  tag: string | null,
  appContainerId: string | null,
): Step {
  return {
    title: 'Remove what the failed backup left behind',
    command: bashScript([
      `rm -rf -- ${quote(p.tmp)}`,
      `docker ps -aq --filter ${quote(`label=${HELPER_LABEL}=${id}`)} | xargs -r docker rm -f >/dev/null || true`,
      ...(appContainerId
        ? [
            `${argv('docker', 'exec', appContainerId, 'rm', '-f', `/tmp/eqmd-rollback-${id}.sqlite3`)} >/dev/null 2>&1 || true`,
          ]
        : []),
      ...(tag ? [`${argv('docker', 'rmi', tag)} >/dev/null 2>&1 || true`] : []),
    ]),
  };
}

/** Deletes pruned sets and their image tags; a tag still in use only warns. */
export function pruneStep(backupDir: string, sets: { id: string; tag: string }[]): Step {
  return {
    title: `Prune ${sets.length} old backup set(s)`,
    command: bashScript(
      sets.flatMap((s) => [
        `rm -rf -- ${quote(`${backupDir}/${s.id}`)}`,
        `${argv('docker', 'rmi', s.tag)} >/dev/null 2>&1 || echo ${quote(`warning=could not remove image tag ${s.tag}`)}`,
      ]),
    ),
  };
}

/**
 * Prints, NUL-separated, the SSH user's uid, then for every directory under the backup dir its name,
 * its owner and mode, and its manifest: list, retention and rollback read the sets from it. A set
 * is trusted only when its directory is the user's own and closed to group and others (the files in
 * it may carry a default ACL's group bits; the directory is what keeps others out).
 */
export function readManifestsStep(backupDir: string): Step {
  return {
    title: `Read the manifests in ${backupDir}`,
    command: bashScript([
      `[ -d ${quote(backupDir)} ] || exit 0`,
      `cd ${quote(backupDir)}`,
      'printf "%s\\0" "$(id -u)"',
      'shopt -s nullglob',
      'for d in */; do',
      '  d=${d%/}',
      // stat without -L: a symlink planted as a set shows as itself (mode 777), and is refused.
      '  printf "%s\\0%s\\0" "$d" "$(stat -c "%u %a" "$d" 2>/dev/null || echo "? ?")"',
      // Another user's set (mode 700) or one being pruned reads as empty: reported, never fatal.
      '  cat "$d/manifest.json" 2>/dev/null || true; printf "\\0"',
      'done',
    ]),
  };
}

/** key=value lines of a step's stdout (the first `=` splits). */
export function parseKeyValues(stdout: string): { key: string; value: string }[] {
  return stdout
    .split('\n')
    .map((line) => {
      const eq = line.indexOf('=');
      return eq > 0 ? { key: line.slice(0, eq), value: line.slice(eq + 1) } : null;
    })
    .filter((x): x is { key: string; value: string } => x !== null);
}
