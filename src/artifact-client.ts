/**
 * The entry of dist/artifact/: the artifact client and its storage SDK, built as a bundle of their own
 * (scripts/build.sh) with their own licenses.txt. They are most of the action's code, and only a run
 * that uploads needs them; in the main bundle, every run paid about 0.27 s to compile them at start.
 */
export { DefaultArtifactClient } from '@actions/artifact';
