import { randomBytes } from 'node:crypto';

/** `20261124T101530Z-3fa9c1`: sorts by time, unique enough for one host, a valid Docker tag. */
export function newBackupId(now: Date, random: Buffer = randomBytes(3)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random.toString('hex')}`;
}
