import { describe, expect, test } from 'vitest';
import { bridgeNameFor, checkName, newId, shortId, vethName } from '../../src/docker/names.js';
import { checkIfName } from '../../src/kernel/link.js';

describe('IDs', () => {
  test('newId: 64 lower-case hex, different every time', () => {
    const a = newId();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(newId()).not.toBe(a);
  });
  test('shortId: the first 12', () => {
    expect(shortId('0123456789abcdef'.repeat(4))).toBe('0123456789ab');
  });
});

describe('bridgeNameFor', () => {
  test('br- + first 12 hex: 15 characters, the kernel maximum', () => {
    const name = bridgeNameFor('9c1b63917a7a' + 'f'.repeat(52));
    expect(name).toBe('br-9c1b63917a7a');
    expect(name).toHaveLength(15);
    expect(() => checkIfName(bridgeNameFor(newId()))).not.toThrow();
  });
  test('refuses what is not an ID', () => {
    expect(() => bridgeNameFor('web')).toThrow(/12 hex/);
  });
});

describe('vethName', () => {
  test('veth + 7 lower-case hex, 11 characters', () => {
    for (let i = 0; i < 20; i++) expect(vethName()).toMatch(/^veth[0-9a-f]{7}$/);
  });
  test('uses the first 7 characters of the random source', () => {
    expect(vethName(() => 'abcdef0123')).toBe('vethabcdef0');
  });
  test('refuses a random source that is not hex', () => {
    expect(() => vethName(() => 'ABCDEFG')).toThrow(/hex/);
    expect(() => vethName(() => 'abc')).toThrow(/hex/);
  });
});

describe('checkName', () => {
  test.each(['web', 'my_net', 'a.b-c', '0x', 'x'.repeat(64)])('accepts %j', (ok) => {
    expect(() => checkName('network', ok)).not.toThrow();
  });
  test('Docker\'s message for bad characters', () => {
    expect(() => checkName('sandbox', 'x y')).toThrow(
      'invalid sandbox name "x y": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  });
  test.each(['', '-web', '.web', '_web', 'a/b', 'web!', 'wéb'])('rejects %j', (bad) => {
    expect(() => checkName('network', bad)).toThrow(/^invalid network name .*only \[a-zA-Z0-9\]/);
  });
  test('one character is too short, and says so', () => {
    expect(() => checkName('network', 'a')).toThrow(/invalid network name "a": at least 2 characters/);
  });
  test('at most 64 characters', () => {
    expect(() => checkName('sandbox', 'x'.repeat(65))).toThrow(/at most 64 characters/);
  });
});
