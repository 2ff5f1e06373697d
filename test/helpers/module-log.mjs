// `node --import module-log.mjs ...`: appends every module the process resolves
// (ES modules, require()d files, node: builtins) to the file NSNET_MODULE_LOG
// names, one URL a line. Tests use it to show what a command does NOT load.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.NSNET_MODULE_LOG;
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    if (out) appendFileSync(out, `${r.url}\n`);
    return r;
  },
});
