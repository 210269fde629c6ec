/** A reporting call answered, failed, or did not answer in time. Never thrown: reporting only warns. */
export type Boxed<T> = { ok: true; value: T } | { ok: false; reason: string; answered: boolean };

/**
 * Runs one network call with a hard time limit: its AbortSignal fires at `ms`, and a timer gives up on it
 * at the same moment in case the client ignores the signal. A late answer is dropped.
 */
export async function timeboxed<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<Boxed<T>> {
  if (ms <= 0) return { ok: false, reason: 'no time left for reporting', answered: false };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Boxed<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, reason: `no answer within ${(ms / 1000).toFixed(1)} s`, answered: false });
    }, ms);
  });
  const work = fn(controller.signal).then(
    (value): Boxed<T> => ({ ok: true, value }),
    (err: unknown): Boxed<T> =>
      controller.signal.aborted
        ? { ok: false, reason: `no answer within ${(ms / 1000).toFixed(1)} s`, answered: false }
        : { ok: false, reason: describeError(err), answered: hasStatus(err) },
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function hasStatus(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'response' in err && !!(err as { response?: unknown }).response
  );
}

/**
 * A short reason that never quotes a URL: a webhook URL is a credential, and an API error is enough as
 * its status and message.
 */
export function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { status?: number; response?: unknown; message?: string };
  if (e.response && typeof e.status === 'number') return `HTTP ${e.status}: ${firstLine(e.message ?? '')}`;
  // fetch wraps the socket error (ECONNREFUSED, ENOTFOUND...) one or two causes deep.
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && typeof cause === 'object' && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return `connection failed (${code})`;
    cause = (cause as { cause?: unknown }).cause;
  }
  return firstLine(e.message ?? 'unknown error').replace(/https?:\/\/\S+/g, '<url>');
}

const firstLine = (s: string): string => s.split('\n')[0]!.slice(0, 200);
