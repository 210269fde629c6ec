/** Recorded in manifests; a unit test keeps it equal to package.json's version. */
export const TOOL_VERSION = '1.2.1';
