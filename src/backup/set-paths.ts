/** Where a set is built and where it ends up: the temporary name is hidden from listings. */
export interface SetPaths {
  backupDir: string;
  tmp: string;
  final: string;
}

export function setPaths(backupDir: string, id: string): SetPaths {
  return { backupDir, tmp: `${backupDir}/.tmp-${id}`, final: `${backupDir}/${id}` };
}

/** Backup tags are namespaced by compose project so one instance never sees another's. */
export function backupTag(project: string, id: string): string {
  return `eqmd-rollback/${project}:${id}`;
}

/**
 * Inside a temporary set: the project dir it is made for. A run that holds that project's lock removes
 * the temporary sets an interrupted run of the same project left (a backup dir may be shared by
 * several projects, whose temporary sets it must not touch).
 */
export const TMP_OWNER_FILE = '.eqmd-owner';
