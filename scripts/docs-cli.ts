// Writes docs/cli.md from the CLI's own command table (src/cli/commands.ts),
// so the reference can't drift from what the parser accepts.
//   npm run docs:cli
import { writeFileSync } from 'node:fs';
import { cliMarkdown } from '../src/cli/help.js';

writeFileSync(new URL('../docs/cli.md', import.meta.url), cliMarkdown());
