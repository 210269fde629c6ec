import { createHash } from 'node:crypto';

/**
 * The one place where values become shell words. Remote commands are parsed by the remote login shell
 * (which may be dash), so only POSIX single quotes are used: `'` becomes `'\''`. Values are validated
 * against allowlists before they get here; quoting is the second line of defence, not the first.
 */
const SAFE_WORD = /^[A-Za-z0-9_/.,:=@%+-]+$/;

export function quote(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line, quoting every word. */
export function argv(...words: string[]): string {
  return words.map(quote).join(' ');
}

/** Exit status of a script that refused to run under a terminal. */
export const UNDER_TERMINAL_EXIT = 97;

/**
 * Refuses to run when stdin or stdout is a terminal. A host that wraps every SSH command in a pty (a
 * ForceCommand `script` wrapper, session recording) echoes what we send on stdin (scripts, database
 * passwords) into the output and rewrites binary streams; a command waiting for stdin's EOF then
 * never gets it. Checked first, before the script reads or changes anything.
 */
const TERMINAL_GUARD = `if [ -t 0 ] || [ -t 1 ]; then echo "eqmd-rollback: this host runs SSH commands under a terminal (pty), e.g. a ForceCommand or session-recording wrapper: refusing, because stdin would be echoed into the output and binary data altered. Give the deploy user a plain, pty-less command session." >&2; exit ${UNDER_TERMINAL_EXIT}; fi`;

/**
 * When the SSH connection dies (runner killed, network cut), sshd goes, but a non-interactive
 * session's processes keep running: a half-done restore would go on racing the re-run. This watchdog
 * finds the sshd process serving this command and, when it is gone (or a zombie) while the script
 * still runs, kills the script's whole process group; the script's EXIT traps still run. Its
 * descriptors are detached so the channel closes as soon as the script ends.
 */
const ORPHAN_WATCHDOG = [
  'eqmd_sshd=$PPID',
  // Up the parent chain to the sshd process (the field after the state in /proc/PID/stat is the
  // parent's PID). Builtins only: on a slow host every fork costs, and every command runs this walk.
  'while [ "$eqmd_sshd" -gt 1 ]; do',
  '  { read -r eqmd_comm < "/proc/$eqmd_sshd/comm"; } 2>/dev/null || eqmd_comm=',
  '  case "$eqmd_comm" in sshd*) break ;; esac',
  `  { read -r eqmd_stat < "/proc/$eqmd_sshd/stat"; } 2>/dev/null || eqmd_stat='x) X 1'`,
  '  eqmd_stat=${eqmd_stat##*) }; eqmd_stat=${eqmd_stat#* }; eqmd_sshd=${eqmd_stat%% *}',
  'done',
  'if [ "$eqmd_sshd" -gt 1 ]; then',
  // Field 3 is the state: Z is a dead sshd its parent has not reaped yet. The loop ends with the script
  // ($$ is the script's shell, in the subshell too): one connection serves the whole run, and a watchdog
  // per finished command, polling until the connection closed, made every later command slower.
  // Builtins only in the loop, the wait too: a read that times out on a pipe nobody writes to (fd 9,
  // opened once) instead of a `sleep` forked five times a second by every running command, which
  // took a core's tenth from the work it watched.
  `  ( exec 9<> <(:); while [ -e "/proc/$$" ]; do { read -r s < "/proc/$eqmd_sshd/stat"; } 2>/dev/null || break; s=\${s##*) }; [ "\${s%% *}" != Z ] || break; read -rt 0.2 -u 9 || :; done; [ ! -e "/proc/$$" ] || kill -TERM 0 ) </dev/null >/dev/null 2>&1 &`,
  'fi',
];

/**
 * Wraps a script so it runs under bash with `set -euo pipefail`: the exit status tells the truth even
 * inside pipelines (dash has no pipefail). `umask 077` because backups hold medical data and secrets.
 * Every script first refuses a terminal and arms the orphan watchdog (see above). `args` become the
 * script's positional parameters $1, $2, …: data reaches a script that way, never spliced into it.
 */
export function bashScript(lines: readonly string[], args: readonly string[] = []): string {
  const body = [
    'set -euo pipefail',
    'export LC_ALL=C',
    'umask 077',
    TERMINAL_GUARD,
    ...ORPHAN_WATCHDOG,
    ...lines,
  ].join('\n');
  return args.length ? `bash -c ${quote(body)} bash ${argv(...args)}` : `bash -c ${quote(body)}`;
}

/** Exit status of a script whose stdin did not arrive whole: nothing was committed. */
export const STDIN_CUT_EXIT = 65;

/**
 * The positional parameters that prove stdin whole: its byte count and SHA-256. A dropped connection
 * ends stdin early and `cat` still exits 0, so end of input is no proof of completion.
 */
export function stdinProof(data: string | Buffer): [string, string] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return [String(bytes.length), createHash('sha256').update(bytes).digest('hex')];
}

/**
 * Lines that read all of stdin into FILE (a quoted shell word) and check it against the proof in $1
 * (byte count) and $2 (SHA-256) before the script goes on: a mismatch exits STDIN_CUT_EXIT, so what
 * follows (a rename, a move, an apply) never runs on a partial file.
 */
export function receiveStdin(file: string): string[] {
  return [
    `cat > ${file}`,
    `eqmd_got=$(wc -c < ${file})`,
    `[ "$eqmd_got" -eq "$1" ] || { echo "stdin ended after $eqmd_got of $1 bytes (connection cut?): nothing committed" >&2; exit ${STDIN_CUT_EXIT}; }`,
    `[ "$(sha256sum < ${file} | cut -d' ' -f1)" = "$2" ] || { echo "stdin does not match its SHA-256: nothing committed" >&2; exit ${STDIN_CUT_EXIT}; }`,
  ];
}

/**
 * A line that reads one secret line from stdin into VARIABLE. The secret is sent with a final newline
 * and `read` fails without it, so a secret cut short never reaches the tool. (A checksum on the command
 * line would put a hash of the secret in the host's process list.)
 */
export function readSecretLine(variable: string, what: string): string {
  return `IFS= read -r ${variable} || { echo ${quote(`${what} did not arrive whole on stdin (connection cut?)`)} >&2; exit ${STDIN_CUT_EXIT}; }`;
}
