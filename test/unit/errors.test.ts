import { describe, expect, test } from 'vitest';
import { KernelError, attempt, invalid, isExists, isNotFound } from '../../src/kernel/errors.js';

function nativeError(fields: Record<string, unknown>): Error {
  return Object.assign(new Error('native'), fields);
}

describe('KernelError', () => {
  test('says what nsnet was doing, then the kernel words', async () => {
    const cause = nativeError({ errno: -17, code: 'EEXIST', description: 'File exists', syscall: 'sendmsg', op: 'RTM_NEWLINK' });
    const e = await attempt('creating veth vethab12', 'ip link add vethab12 type veth peer name eth0 netns web',
      () => Promise.reject(cause), 'sandbox web').catch((x: unknown) => x as KernelError);
    expect(e).toBeInstanceOf(KernelError);
    expect(e.message).toBe('creating veth vethab12 for sandbox web: EEXIST (File exists)');
    expect(e).toMatchObject({ errno: -17, code: 'EEXIST', syscall: 'sendmsg', op: 'RTM_NEWLINK' });
    expect(e.equivalent).toBe('ip link add vethab12 type veth peer name eth0 netns web');
    expect(e.cause).toBe(cause);
  });

  test('keeps the extended-ack message; shortMessage keeps its first line', () => {
    const e = new KernelError('applying rules', nativeError({
      errno: -2, code: 'ENOENT', description: 'No such file or directory', syscall: 'nft_run_cmd_from_buffer',
      op: 'nft', extack: { message: 'Error: Could not process rule\ndelete table ip x\n^^^' },
    }) as never);
    expect(e.message).toBe('applying rules: ENOENT (No such file or directory): Error: Could not process rule\ndelete table ip x\n^^^');
    expect(e.shortMessage).toBe('applying rules: ENOENT (No such file or directory): Error: Could not process rule');
    expect(e.extack?.message).toContain('delete table');
  });

  test('non-kernel errors get the context too', async () => {
    const e = await attempt('x', 'y', () => Promise.reject(new TypeError('bad option'))).catch((x: Error) => x);
    expect(e.message).toBe('x: bad option');
    expect(e).not.toBeInstanceOf(KernelError);
  });

  test('classifiers', () => {
    expect(isExists(invalid('x'))).toBe(false);
    expect(invalid('bad name').code).toBe('EINVAL');
    for (const code of ['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL']) {
      expect(isNotFound(nativeError({ code, errno: -1 }))).toBe(true);
    }
    expect(isNotFound(nativeError({ code: 'EEXIST', errno: -17 }))).toBe(false);
    expect(isExists(nativeError({ code: 'EEXIST', errno: -17 }))).toBe(true);
    expect(isNotFound('ENOENT')).toBe(false);
  });
});
