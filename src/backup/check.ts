/** One verification of a backup, as the manifest records it; a set is verified when all are ok. */
export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

/** A checksum as a check's detail or a summary shows it. */
export function short(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : '(none)';
}
