// Preloaded (node --import) into the traced `nsnet create`s of bench/overlay.ts: marks on stderr, as
// '# ' lines like NSNET_TRACE's, when the process starts running JavaScript, when each request to etcd
// leaves and is answered (Node's own http diagnostics channels: src/ is not touched), and when it exits.
// The bench timestamps each line as it arrives.
import dc from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';

const mark = (s) => writeSync(2, `# [${s}]\n`);
mark('node up: loading the CLI');
dc.subscribe('http.client.request.start', ({ request }) => mark(`etcd ${request.path} sent`));
dc.subscribe('http.client.response.finish', ({ request, response }) => mark(`etcd ${request.path} answered ${response.statusCode}`));
process.on('exit', (code) => mark(`exit ${code}`));
