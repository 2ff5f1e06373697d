// The tour's printing: lines fit the terminal, nothing is wrapped when
// stdout is not a terminal, and each listing appears once.
import { describe, expect, test } from 'vitest';
import { renderIntro, renderResult, wrap, wrapCommand, type StepView } from '../../src/tour/render.js';

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const longest = (lines: string[]) => Math.max(...lines.map((l) => strip(l).length));

const NFT = [
  'table ip nsnet_dns {',
  '\tchain output {',
  '\t\ttype nat hook output priority dstnat; policy accept;',
  '\t\tip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:40001 comment "the embedded DNS server, a port chosen at random in this sandbox"',
  '\t}',
  '}',
].join('\n');

const STEP: StepView = {
  title: '2. A user-defined network: service discovery through 127.0.0.11',
  equivalent: ['ip link add veth1a2b3c4 master br-0123456789ab up type veth peer name eth0 netns web2 address 02:42:ac:12:00:02'],
  shown: [{ command: 'ip netns exec web2 nft list table ip nsnet_dns', output: NFT }],
  checks: [
    { what: 'resolv.conf points at 127.0.0.11 with ndots:0', ok: true },
    { what: 'web2 resolves db2', ok: false, detail: 'getent exited 2 with no output after fifteen seconds of trying, every 100 ms' },
  ],
};

describe('wrap', () => {
  test.each([
    ['short text stays', 'a b c', 40, ['a b c']],
    ['at spaces, within the width', 'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj', 30, ['aaaa bbbb cccc dddd eeee ffff', 'gggg hhhh iiii jjjj']],
    ['a word longer than a line is cut', 'x'.repeat(70), 30, ['x'.repeat(30), 'x'.repeat(30), 'x'.repeat(10)]],
  ])('%s', (_, text, width, want) => {
    expect(wrap(text, width)).toEqual(want);
  });

  test('no width (not a terminal): one line, untouched', () => {
    const text = 'word '.repeat(100).trim();
    expect(wrap(text, undefined, '  ')).toEqual([`  ${text}`]);
  });

  test('indents count in the width, continuation lines get theirs', () => {
    const lines = wrap('one two three four five six seven eight nine ten eleven twelve', 32, '    ', '      ');
    expect(longest(lines)).toBeLessThanOrEqual(32);
    expect(lines[0]!.startsWith('    one')).toBe(true);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {6}\S/);
  });

  test('an indent wider than half the line is cut, and wrapping still ends', () => {
    const lines = wrap('aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk', 30, ' '.repeat(40));
    expect(longest(lines)).toBeLessThanOrEqual(30);
  });

  test('wrapped commands end in a backslash, so every piece pastes into a shell', () => {
    const lines = wrapCommand(STEP.equivalent[0]!, 50, '  ');
    expect(lines.length).toBeGreaterThan(1);
    expect(longest(lines)).toBeLessThanOrEqual(50);
    expect(lines.slice(0, -1).every((l) => l.endsWith(' \\'))).toBe(true);
    expect(lines.map((l) => l.replace(/^ +(\$ )?/, '').replace(/ \\$/, '')).join(' ')).toBe(STEP.equivalent[0]);
  });
});

describe('a step as printed', () => {
  for (const width of [40, 60, 80, 120]) {
    test(`every line fits ${width} columns, with colour too`, () => {
      for (const color of [false, true]) {
        const lines = [...renderIntro(STEP.title, 'On a user-defined network every sandbox has nameserver 127.0.0.11 in its resolv.conf.', { width, color }),
          ...renderResult(STEP, { width, color })];
        expect(longest(lines), lines.join('\n')).toBeLessThanOrEqual(width);
      }
    });
  }

  test('not a terminal: no line is broken', () => {
    const lines = renderResult(STEP, { color: false });
    expect(lines).toContain(`  $ ${STEP.equivalent[0]}`);
    expect(lines).toContain(`    ${' '.repeat(16)}${NFT.split('\n')[3]!.trim()}`);
  });

  test('each listing once: the command with its output, the checks with the failure detail', () => {
    const text = renderResult(STEP, { color: false, width: 80 }).join('\n');
    expect(text.split('nft list table ip nsnet_dns').length - 1).toBe(1);
    expect(text).toMatch(/^ {2}ok {3}resolv\.conf points at 127\.0\.0\.11/m);
    expect(text).toMatch(/^ {2}FAIL web2 resolves db2 \(getent exited 2/m);
  });
});
