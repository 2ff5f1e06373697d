// The frames between the native CNI plugin and the resident nsnet process
// (src/cni/wire.ts; native/cni_main.cc writes the same bytes).
import { expect, test } from 'vitest';
import { decodeAnswer, encodeAnswer, encodeRequest, MAX_ENV, MAX_STDIN, NOT_MINE, parseRequest } from '../../src/cni/wire.js';

const req = { env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', NSNET_DATA_DIR: '/x/lib', CNI_ARGS: 'A=1;B=2' }, stdin: '{"cniVersion":"1.0.0","name":"n","type":"nsnet","x":"é"}' };

test('a request reads back as it was sent, and not before it is complete', () => {
  const b = encodeRequest(req);
  expect(b.toString('latin1', 0, 4)).toBe('NSC1');
  expect(parseRequest(b)).toEqual({ request: req });
  for (const n of [0, 3, 4, 15, 16, b.length - 1]) expect(parseRequest(b.subarray(0, n))).toEqual({ more: true });
});

test('malformed requests are errors, never a request', () => {
  const b = encodeRequest(req);
  expect(parseRequest(Buffer.from('GET / HTTP/1.0\r\n\r\n'))).toMatchObject({ error: 'not a CNI request' });
  expect(parseRequest(Buffer.from('NX'))).toMatchObject({ error: 'not a CNI request' });
  expect(parseRequest(Buffer.concat([b, Buffer.from('x')]))).toMatchObject({ error: 'bytes after the request' });
  const big = Buffer.from(b);
  big.writeUInt32LE(MAX_STDIN + 1, 8);
  expect(parseRequest(big.subarray(0, 16))).toMatchObject({ error: expect.stringContaining('stdin of') });
  big.writeUInt32LE(MAX_ENV + 1, 4);
  expect(parseRequest(big.subarray(0, 16))).toMatchObject({ error: expect.stringContaining('environment of') });
  const flags = Buffer.from(b);
  flags.writeUInt32LE(1, 12);
  expect(parseRequest(flags)).toMatchObject({ error: 'unknown flags' });
  // Only CNI_* and NSNET_*: a peer cannot hand the process NODE_OPTIONS or PATH.
  expect(parseRequest(encodeRequest({ env: { NODE_OPTIONS: '--require /tmp/x.js' }, stdin: '' }))).toMatchObject({ error: expect.stringContaining('NODE_OPTIONS') });
  const noName = encodeRequest({ env: {}, stdin: '' });
  const raw = Buffer.concat([noName.subarray(0, 16), Buffer.from('=v\0')]);
  raw.writeUInt32LE(3, 4);
  expect(parseRequest(raw)).toMatchObject({ error: expect.stringContaining('without a name') });
});

test('answers: status, stdout and stderr; NOT_MINE is -1', () => {
  expect(decodeAnswer(encodeAnswer(0, '{"a":1}\n', 'trace\n'))).toEqual({ status: 0, stdout: '{"a":1}\n', stderr: 'trace\n' });
  expect(decodeAnswer(encodeAnswer(NOT_MINE, '', ''))).toEqual({ status: -1, stdout: '', stderr: '' });
  const a = encodeAnswer(1, 'x'.repeat(100), '');
  expect(decodeAnswer(a.subarray(0, a.length - 1))).toBeUndefined();
});
