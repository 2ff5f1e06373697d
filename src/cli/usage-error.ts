// The error for a command line nsnet can't make sense of (unknown command or
// flag, bad value, wrong number of arguments). main.ts prints it as Docker
// does (help.ts `formatUsageError`) and exits as Docker's CLI would: 125 for a
// flag it cannot parse (cli/cobra.go FlagErrorFunc), 1 for the rest (a wrong
// number of arguments, an unknown command: plain errors in cli/required.go).

/** A command line nsnet can't make sense of; `message` is one Docker-like line. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The canonical command whose help applies; undefined for nsnet itself. */
  readonly command: string | undefined;
  /** Whether printing should add the usage line, as Docker does for a wrong number of arguments. */
  readonly showUsage: boolean;
  /** A flag's error (unknown, missing or bad value): what pflag reports, Docker's 125. */
  readonly badFlag: boolean;

  constructor(message: string, command: string | undefined, options: { showUsage?: boolean; badFlag?: boolean } = {}) {
    super(message);
    this.command = command;
    this.showUsage = options.showUsage ?? false;
    this.badFlag = options.badFlag ?? false;
  }
}
