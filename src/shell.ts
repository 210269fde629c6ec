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
 * finds the sshd process serving this command and, when it is gone (or a zombie), kills the script's
 * whole process group; the script's EXIT traps still run. Its descriptors are detached so the channel
 * closes as soon as the script ends.
 */
const ORPHAN_WATCHDOG = [
  'eqmd_sshd=$PPID',
  // Up the parent chain to the sshd process (field 4 of /proc/PID/stat is the parent's PID).
  `while [ "$eqmd_sshd" -gt 1 ] && case "$(cat "/proc/$eqmd_sshd/comm" 2>/dev/null)" in sshd*) false;; *) true;; esac; do eqmd_sshd=$(sed 's/.*) [A-Za-z] //; s/ .*//' "/proc/$eqmd_sshd/stat" 2>/dev/null || echo 1); done`,
  'if [ "$eqmd_sshd" -gt 1 ]; then',
  // Field 3 is the state: Z is a dead sshd its parent has not reaped yet.
  `  ( while s=$(sed 's/.*) //; s/ .*//' "/proc/$eqmd_sshd/stat" 2>/dev/null) && [ "$s" != Z ]; do sleep 0.2; done; kill -TERM 0 ) </dev/null >/dev/null 2>&1 &`,
  'fi',
];

/**
 * Wraps a script so it runs under bash with `set -euo pipefail`: the exit status tells the truth even
 * inside pipelines (dash has no pipefail). `umask 077` because backups hold medical data and secrets.
 * Every script first refuses a terminal and arms the orphan watchdog (see above).
 */
export function bashScript(lines: readonly string[]): string {
  const body = [
    'set -euo pipefail',
    'export LC_ALL=C',
    'umask 077',
    TERMINAL_GUARD,
    ...ORPHAN_WATCHDOG,
    ...lines,
  ].join('\n');
  return `bash -c ${quote(body)}`;
}
