import { randomBytes } from 'node:crypto';

/** What operations may say; the edge maps it to the toolkit, tests to an array. */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** A line the runner would take for a workflow command: `::name::…` or the older `##[name]…`. */
const COMMAND_LINE = /^\s*(?:::|##\[)/m;

/**
 * Text for the log that can never act as a workflow command. Log lines carry text read from the host
 * (a lock owner, a path, a step's output); a line of it starting with `::error::`, `::add-mask::` or
 * `::stop-commands::` would be obeyed by the runner. Such a message is printed between
 * `::stop-commands::TOKEN` and `::TOKEN::` with a token it cannot know, so it is shown, never obeyed.
 * (The toolkit's warning/error/debug/group escape their text already; info does not.)
 */
export function commandSafe(message: string, token = () => randomBytes(16).toString('hex')): string {
  if (!COMMAND_LINE.test(message)) return message;
  const t = token();
  return `::stop-commands::${t}\n${message}\n::${t}::`;
}

/**
 * A `group` whose groups never nest: the runner folds one level only, and an inner `::group::` ends
 * the outer fold. Inside a group, an inner group's title becomes a line (`▸ title`) and its output
 * stays in the outer fold.
 */
export function flatGroups(io: {
  start(title: string): void;
  end(): void;
  line(text: string): void;
}): Log['group'] {
  let depth = 0;
  return async (title, fn) => {
    if (depth === 0) io.start(title);
    else io.line(`▸ ${title}`);
    depth++;
    try {
      return await fn();
    } finally {
      depth--;
      if (depth === 0) io.end();
    }
  };
}
