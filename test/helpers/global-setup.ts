// Builds dist/ once before the tests: CLI tests run the compiled `bin/nsnet.js`,
// as users do.
import { execa } from 'execa';

export default async function setup(): Promise<void> {
  await execa('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
