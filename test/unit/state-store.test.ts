// The state store's files on a temporary directory (no lock, no kernel):
// damaged records are reported by path and listed, never taken for data;
// bitmaps and port claims are rebuilt through rebuildFrom, never reset;
// networks.json that is damaged, or lost while bitmaps remain, is damaged.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { bitmapHeader } from '../../src/state/bitmap.js';
import { DamagedStateError } from '../../src/state/damaged.js';
import { AddressBits, PortClaims, RecordFiles } from '../../src/state/sandbox-store.js';
import { readNetworks } from '../../src/state/store.js';

const ID = 'a'.repeat(64);
const ID2 = 'b'.repeat(64);
const rec = (name: string, id: string, o: object = {}) => ({ id, name, created: 'x', status: 'created', mode: 'none', networkMode: 'none', endpoints: [], ports: [], ...o });
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nsnet-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('RecordFiles', () => {
  test('a damaged record throws by path, is listed by scan, and is removed by name with its index entry', async () => {
    const r = new RecordFiles<ReturnType<typeof rec>>(dir);
    r.put(rec('good', ID));
    r.put(rec('bad', ID2));
    await r.flush();
    writeFileSync(path.join(dir, 'sandboxes', 'bad.json'), '{"id":"bbbb');
    const fresh = new RecordFiles<ReturnType<typeof rec>>(dir);
    await expect(fresh.get('bad')).rejects.toThrow(DamagedStateError);
    await expect(fresh.get('bad')).rejects.toThrow(`${path.join(dir, 'sandboxes', 'bad.json')}: not valid JSON`);
    expect((await fresh.all()).map((x) => x.name)).toEqual(['good']);
    const { damaged } = await fresh.scan();
    expect(damaged.map((d) => [d.name, d.path])).toEqual([['bad', path.join(dir, 'sandboxes', 'bad.json')]]);
    fresh.deleteDamaged('bad'); // no id given: the index entry naming it is found
    await fresh.flush();
    expect((await new RecordFiles(dir).scan()).damaged).toEqual([]);
    expect(await new RecordFiles(dir).indexedName(ID2)).toBeUndefined();
  });

  test('a record gone while the id index names it is listed as missing', async () => {
    const r = new RecordFiles<ReturnType<typeof rec>>(dir);
    r.put(rec('gone', ID));
    await r.flush();
    rmSync(path.join(dir, 'sandboxes', 'gone.json'));
    const { records, damaged } = await new RecordFiles(dir).scan();
    expect(records).toEqual([]);
    expect(damaged).toMatchObject([{ name: 'gone', id: ID, problem: `missing (the id index ids/${ID} still names it)` }]);
  });

  test('a "creating" record has a creating/ entry naming its process, gone once it is created or deleted', async () => {
    const r = new RecordFiles<ReturnType<typeof rec> & { createdBy?: { pid: number; start: string } }>(dir);
    r.put(rec('sb', ID, { status: 'creating', createdBy: { pid: 42, start: '7' } }));
    await r.flush();
    expect(r.creating()).toEqual(['sb']);
    expect(await r.creator('sb')).toEqual({ pid: 42, start: '7' });
    const again = new RecordFiles<ReturnType<typeof rec>>(dir);
    again.put({ ...(await again.get('sb'))!, status: 'created' });
    await again.flush();
    expect(again.creating()).toEqual([]);
  });
});

describe('AddressBits', () => {
  const base = (10 << 24) >>> 0;
  test('a new network writes an empty, valid bitmap; a damaged one is rebuilt through rebuildFrom, which is told why', async () => {
    const a = new AddressBits(dir);
    a.create(ID, base, 256);
    await a.set(ID, base, 256, base + 2, true);
    await a.flush();
    expect(bitmapHeader(readFileSync(a.file(ID)))).toEqual({ base, size: 256, count: 1 });
    writeFileSync(a.file(ID), readFileSync(a.file(ID)).subarray(0, 30));
    const b = new AddressBits(dir);
    const asked: string[] = [];
    b.rebuildFrom = async (_id, _b, _s, why) => {
      asked.push(why);
      return [base + 2, base + 5];
    };
    const used = await b.usedTest(ID, base, 256);
    expect([2, 3, 5].map((i) => used(base + i))).toEqual([true, false, true]);
    expect(asked).toEqual(['cut short (30 bytes, expected 52)']);
    // Without a way to rebuild, a damaged bitmap is an error naming it, not an empty map.
    rmSync(a.file(ID));
    await expect(new AddressBits(dir).usedTest(ID, base, 256)).rejects.toThrow(`${a.file(ID)}: missing`);
  });
});

describe('PortClaims', () => {
  test('a damaged claim file is rebuilt through rebuildFrom, or is an error naming it', async () => {
    mkdirSync(path.join(dir, 'ports'));
    writeFileSync(path.join(dir, 'ports', 'tcp-80.json'), 'garbage');
    await expect(new PortClaims(dir).get('tcp', 80)).rejects.toThrow(`${path.join(dir, 'ports', 'tcp-80.json')}: not valid JSON`);
    const p = new PortClaims(dir);
    p.rebuildFrom = async () => [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, sandboxId: ID }];
    expect(await p.get('tcp', 80)).toHaveLength(1);
    await p.flush();
    expect(await new PortClaims(dir).read('tcp', 80)).toEqual({ claims: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, sandboxId: ID }] });
  });
});

describe('readNetworks', () => {
  const dirs = () => ({ dataDir: path.join(dir, 'lib'), runDir: path.join(dir, 'run') });
  const file = () => path.join(dir, 'lib', 'networks.json');
  const host = { id: ID, name: 'host', driver: 'host', builtin: true };
  test('missing or [] on a first start: no networks, nothing damaged', () => {
    expect(readNetworks(dirs())).toEqual({ networks: [], salvaged: [] });
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(file(), '[]');
    expect(readNetworks(dirs()).damaged).toBeUndefined();
  });
  test('missing or [] while bitmaps of networks it does not list remain: damaged, by path', async () => {
    const a = new AddressBits(path.join(dir, 'run'));
    a.create(ID2, (10 << 24) >>> 0, 256);
    await a.flush();
    expect(readNetworks(dirs()).damaged?.message).toMatch(/networks\.json: missing, while .*ipam holds the address maps of 1 network/);
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(file(), '[]');
    expect(readNetworks(dirs()).damaged?.message).toMatch(/networks\.json: lists no networks, while/);
  });
  test('cut short: damaged, with the networks before the cut salvaged', () => {
    mkdirSync(path.join(dir, 'lib'));
    const text = JSON.stringify([host, { ...host, id: ID2, name: 'none', driver: 'null' }]);
    writeFileSync(file(), text.slice(0, -10));
    const r = readNetworks(dirs());
    expect(r.damaged?.path).toBe(file());
    expect(r.damaged?.message).toContain('run "nsnet system reconcile"');
    expect(r.salvaged).toEqual([host]);
    expect(r.networks).toEqual([]);
  });
});
