// The error for a command line nsnet can't make sense of (unknown command or
// flag, bad value, wrong number of arguments). main.ts prints it as Docker
// does (help.ts `formatUsageError`) and exits 125.

/** A command line nsnet can't make sense of; `message` is one Docker-like line. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The canonical command whose help applies; undefined for nsnet itself. */
  readonly command: string | undefined;
  /** Whether printing should add the usage line, as Docker does for a wrong number of arguments. */
  readonly showUsage: boolean;

  constructor(message: string, command: string | undefined, showUsage = false) {
    super(message);
    this.command = command;
    this.showUsage = showUsage;
  }
}
