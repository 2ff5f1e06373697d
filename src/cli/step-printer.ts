// How a plan's steps are printed, by `--dry-run` (to stdout, instead of
// running them) and by NSNET_TRACE=1 (to stderr, as they run): the same lines
// for both, so a dry run and a traced real run can be compared line by line.
//
//   # creating bridge br-1a2b3c4d5e6f
//   ip link add br-1a2b3c4d5e6f address 02:42:... up type bridge
//
// The title is a shell comment, so the output is a script one can read, and
// paste, to do the same by hand.

/** The two fields of a step that are printed. */
export interface PrintedStep {
  readonly title: string;
  readonly equivalent?: readonly string[];
}

/** The lines a step prints as: `# title`, then each equivalent command. */
export function stepLines(step: PrintedStep): string[] {
  return [`# ${step.title}`, ...(step.equivalent ?? [])];
}

/** An observer that writes each step's lines, one `write` per line. */
export function printStep(write: (line: string) => void): (step: PrintedStep) => void {
  return (step) => {
    for (const line of stepLines(step)) write(line);
  };
}
