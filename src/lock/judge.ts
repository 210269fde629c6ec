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

/** One field of the owner record as it may be shown: a string in its grammar, else nothing. */
function field(value: unknown, grammar: RegExp): string {
  return typeof value === 'string' && value.length <= 300 && grammar.test(value) ? value : '';
}

/** What the action itself writes into owner.json, as allowlists (a GitHub login, owner/repo, a time…). */
const OWNER_FIELDS = {
  command: /^(?:backup|deploy|rollback)$/,
  actor: /^[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?$/,
  repository: /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/,
  runId: /^[0-9]{1,20}$/,
  runUrl: /^https?:\/\/[A-Za-z0-9.:-]+\/[A-Za-z0-9_./-]*$/,
  started: /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$/,
};

/**
 * The lock's owner.json is host data (anyone who can write the project dir can plant one): each field
 * is shown only when it has the form the action writes, and an unreadable record is never quoted.
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
  const f = (name: keyof typeof OWNER_FIELDS) => field(o[name], OWNER_FIELDS[name]);
  const run = f('runUrl') || (f('runId') ? `run ${f('runId')}` : 'a run');
  return `${f('command') || 'an operation'} by ${f('actor') || 'unknown'} (${f('repository') || 'unknown repository'}, ${run}) since ${f('started') || 'unknown time'}`;
}
