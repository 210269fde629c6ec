/**
 * Docker multiplexes stdout/stderr of non-tty containers in 8-byte-framed chunks: the frames, each with
 * its stream (1 stdout, 2 stderr), or null when `raw` is not framed (a tty container's plain text).
 */
export function frames(raw: Buffer): { stream: 1 | 2; data: Buffer }[] | null {
  const out: { stream: 1 | 2; data: Buffer }[] = [];
  let at = 0;
  while (at + 8 <= raw.length && (raw[at] === 1 || raw[at] === 2) && raw[at + 1] === 0) {
    const size = raw.readUInt32BE(at + 4);
    out.push({ stream: raw[at] as 1 | 2, data: raw.subarray(at + 8, at + 8 + size) });
    at += 8 + size;
  }
  return at === 0 ? null : out;
}

/** The text of a container's log, both streams, without Docker's framing. */
export function demultiplex(raw: Buffer): string {
  const f = frames(raw);
  return (f ? Buffer.concat(f.map((x) => x.data)) : raw).toString('utf8');
}
