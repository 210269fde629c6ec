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
