import { expect, test } from 'vitest';
import { missingCaps } from '../../src/cli/privileges.js';

const status = (eff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\nCapBnd:\t000001ffffffffff\n`;

test.each([
  ['000001ffffffffff', []], // root
  ['0000000000201000', []], // exactly CAP_NET_ADMIN (bit 12) and CAP_SYS_ADMIN (bit 21)
  ['0000000000000000', ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']], // an ordinary user
  ['0000000000001000', ['CAP_SYS_ADMIN']],
  ['0000000000200000', ['CAP_NET_ADMIN']],
  ['00000000001ff000', ['CAP_SYS_ADMIN']], // bits 12..20, not 21
])('CapEff %s: missing %j', (eff, missing) => {
  expect(missingCaps(status(eff))).toEqual(missing);
});

test('no CapEff line: everything counts as missing', () => {
  expect(missingCaps('Name:\tnode\n')).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
});
