/** A remote step of a plan: what the dry run prints and what the apply phase executes. */
export interface Step {
  title: string;
  /** The complete remote command line (already wrapped in bash with strict mode). */
  command: string;
  /** Sent on stdin; secrets travel only here. */
  stdin?: string;
  /** Describes stdin in the printed plan instead of its value. */
  stdinNote?: string;
}
