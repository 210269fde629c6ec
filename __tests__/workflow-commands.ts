/**
 * The lines a runner would obey as workflow commands (`::name::…` or `##[name]…`, after leading
 * blanks), outside any `::stop-commands::TOKEN` … `::TOKEN::` region: what host text must never add.
 */
export function obeyedCommands(log: string): string[] {
  const out: string[] = [];
  let stopToken = '';
  for (const line of log.split('\n')) {
    const t = line.trimStart();
    if (stopToken) {
      if (t === `::${stopToken}::`) stopToken = '';
      continue;
    }
    const stop = /^::stop-commands::(.+)$/.exec(t);
    if (stop) stopToken = stop[1]!;
    else if (t.startsWith('::') || t.startsWith('##[')) out.push(t);
  }
  return out;
}
