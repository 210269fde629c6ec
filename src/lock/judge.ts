/** What the acquire step reported when the lock was held. */
export interface HeldLock {
  owner: string;
  ageSeconds: number;
  keeper: 'alive' | 'gone' | 'none';
}

export type LockVerdict = { kind: 'wait' } | { kind: 'stale'; why: string };

/**
 * A holder whose keeper process is gone died without releasing. A lock with no keeper at all (taken by
 * hand, or a run that died before starting its keeper) is stale once older than the command timeout.
 */
export function judgeHeldLock(held: HeldLock, commandTimeoutSeconds: number): LockVerdict {
  if (held.keeper === 'gone')
    return { kind: 'stale', why: 'its holder process no longer exists on the host' };
  if (held.keeper === 'none' && held.ageSeconds > commandTimeoutSeconds) {
    return {
      kind: 'stale',
      why: `it has no holder process and is ${held.ageSeconds} s old (more than command-timeout ${commandTimeoutSeconds} s)`,
    };
  }
  return { kind: 'wait' };
}

/** One field of the owner record as it may be shown: short, one line, printable; else nothing. */
function field(value: unknown, max = 200): string {
  return typeof value === 'string' && value.length <= max && /^[\x20-\x7e]*$/.test(value) ? value : '';
}

/**
 * The lock's owner.json is host data (anyone who can write the project dir can plant one): each field
 * is shown only when it is short printable text, and an unreadable record is never quoted.
 */
export function describeOwner(ownerJson: string): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(ownerJson);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    o = parsed as Record<string, unknown>;
  } catch {
    return ownerJson ? 'an unreadable owner record' : 'an owner that left no record (taken by hand?)';
  }
  const command = ['backup', 'deploy', 'rollback'].includes(field(o.command)) ? field(o.command) : '';
  const runId = /^[0-9]{1,20}$/.test(field(o.runId)) ? field(o.runId) : '';
  const runUrl = /^https?:\/\/\S+$/.test(field(o.runUrl, 500)) ? field(o.runUrl, 500) : '';
  const run = runUrl || (runId ? `run ${runId}` : 'a run');
  return `${command || 'an operation'} by ${field(o.actor) || 'unknown'} (${field(o.repository) || 'unknown repository'}, ${run}) since ${field(o.started) || 'unknown time'}`;
}
