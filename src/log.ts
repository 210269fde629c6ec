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

type Said =
  { kind: 'info' | 'warning' | 'debug'; text: string } | { kind: 'group'; title: string; said: Said[] };

/**
 * A log that keeps what it is told and says it later, in one piece: for work that runs beside other
 * logged work (the migration classification beside the backup), whose lines and groups would
 * otherwise interleave with it. The work it is given must itself run one step at a time.
 */
export function deferredLog(): { log: Log; replay(into: Log): Promise<void> } {
  const root: Said[] = [];
  let current = root;
  const say = (kind: 'info' | 'warning' | 'debug') => (text: string) => void current.push({ kind, text });
  const log: Log = {
    info: say('info'),
    warning: say('warning'),
    debug: say('debug'),
    group: async (title, fn) => {
      const parent = current;
      const said: Said[] = [];
      parent.push({ kind: 'group', title, said });
      current = said;
      try {
        return await fn();
      } finally {
        current = parent;
      }
    },
  };
  const replay = async (into: Log, said: Said[]): Promise<void> => {
    for (const s of said) {
      if (s.kind === 'group') await into.group(s.title, () => replay(into, s.said));
      else into[s.kind](s.text);
    }
  };
  return { log, replay: (into) => replay(into, root.splice(0)) };
}
