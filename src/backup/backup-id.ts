import { randomBytes } from 'node:crypto';

/** `20261124T101530Z-3fa9c1`: sorts by time, unique enough for one host, a valid Docker tag. */
export function newBackupId(now: Date, random: Buffer = randomBytes(3)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random.toString('hex')}`;
}

/** The second an id was made in, in ms since the epoch; NaN for a text that is not an id. */
export function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : Number.NaN;
}
