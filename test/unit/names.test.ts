import { describe, expect, test } from 'vitest';
import { checkIfName } from '../../src/kernel/link.js';
import { checkNetnsName } from '../../src/kernel/netns.js';

test('interface names: 1-15 bytes, no slash, colon or space', () => {
  for (const ok of ['eth0', 'br-0123456789ab', 'veth1234567', 'x']) expect(() => checkIfName(ok)).not.toThrow();
  for (const bad of ['', 'br-0123456789abc', 'a/b', 'a:b', 'a b', '.', '..', 'ééééééééé']) {
    expect(() => checkIfName(bad), bad).toThrow(/invalid interface name/);
  }
});

test('namespace names: plain file names', () => {
  for (const ok of ['web', 'nsnet-1a2b', 'a.b_c']) expect(() => checkNetnsName(ok)).not.toThrow();
  for (const bad of ['', '.', '..', '../x', 'a/b', '-x', 'a b']) expect(() => checkNetnsName(bad), bad).toThrow(/invalid namespace name/);
});

// The same check guards user-given names (--opt com.docker.network.bridge.name) before any plan.
describe('checkIfName', () => {
  test.each(['eth0', 'docker0', 'br-0123456789ab', 'x', 'mybr.10'])('accepts %j', (ok) => {
    expect(() => checkIfName(ok)).not.toThrow();
  });
  test.each(['', 'br-0123456789abc', 'ééééééééé'])('rejects %j with the 15-character limit', (bad) => {
    expect(() => checkIfName(bad)).toThrow(/1 to 15 characters/);
  });
  test.each(['a/b', 'a:b', 'a b', 'a\tb', '.', '..'])('rejects %j', (bad) => {
    expect(() => checkIfName(bad)).toThrow(/^invalid interface name/);
  });
});
