/** A bad input value: names the input, quotes the value and states the expected form. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    value: string,
    expected: string,
  ) {
    super(`Invalid input '${input}': ${JSON.stringify(value)}. Expected ${expected}.`);
    this.name = 'InputError';
  }
}

/** A remote command that exited non-zero (or by a signal): carries what an operator needs to act. */
export class RemoteCommandError extends Error {
  constructor(
    readonly step: string,
    readonly code: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
  ) {
    const status =
      code !== null
        ? `exited with code ${code}`
        : signal
          ? `was killed by signal ${signal}`
          : 'ended without an exit status (the SSH connection was lost)';
    const tail = stderrTail.trim() ? `\n--- stderr (tail) ---\n${stderrTail.trim()}` : '';
    super(`Remote step '${step}' ${status}.${tail}`);
    this.name = 'RemoteCommandError';
  }
}

/** A refusal decided before or instead of changing anything (host key, missing service, no space...). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}
