// `nsnet graph` on a live host: the facts it reads from the kernel (the
// uplink from the routing table, the DNS DNAT ports from each sandbox's nft
// table) are drawn, and match what `ip route` and `nft list` show.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, wanHost, type Wan } from '../helpers/wan.js';

let h: TestHost;
let wan: Wan;
let stop: () => Promise<void>;

beforeEach(async () => {
  ({ h, wan, stop } = await wanHost());
});
afterEach(() => stop());

describeKernel('nsnet graph (kernel)', () => {
  test('draws the uplink, masquerade, the DNAT of a published port and the DNS DNAT as the kernel has them', async () => {
    const web = h.sb('web'), side = h.sb('side'), bare = h.sb('bare');
    await h.ok(['network', 'create', `n-${h.tag}`]);
    await h.ok(['create', '--name', web, '--network', `n-${h.tag}`, '-p', '8080:80']);
    await h.ok(['create', '--name', side, '--network', `container:${web}`]);
    await h.ok(['create', '--name', bare, '--network', 'none']);
    const ip = JSON.parse(await h.ok(['inspect', web]))[0].NetworkSettings.Networks[`n-${h.tag}`].IPAddress as string;

    // The ports the DNS server's sockets got in web's namespace, as nft lists them.
    const nft = String((await h.run(['ip', 'netns', 'exec', web, 'nft', 'list', 'table', 'ip', 'nsnet_dns'])).stdout);
    const udp = /udp dport 53 dnat (?:ip )?to 127\.0\.0\.11:(\d+)/.exec(nft)?.[1];
    const tcp = /tcp dport 53 dnat (?:ip )?to 127\.0\.0\.11:(\d+)/.exec(nft)?.[1];
    expect(udp && tcp, nft).toBeTruthy();

    const dot = await h.ok(['graph', '--format', 'dot']);
    expect(dot).toContain(`uplink [label="uplink ${wan.hostIf}\\n${WAN.hostAddr}/24\\ndefault via ${WAN.gateway}"];`);
    expect(dot).toMatch(/br_br_[0-9a-f]{12} -> uplink \[label="masquerade"\];/);
    expect(dot).toContain(`uplink -> sb_${web.replace(/-/g, '_')} [label="DNAT tcp 8080 -> ${ip}:80", style=dashed];`);
    expect(dot).toContain(`DNS DNAT 127.0.0.11:53 -> udp :${udp}  tcp :${tcp}`);
    expect(dot).toContain(`sb_${side.replace(/-/g, '_')} -> sb_${web.replace(/-/g, '_')} [label="shares its namespace", style=dotted];`);
    expect(dot).toContain(`sb_${bare.replace(/-/g, '_')} [label="${bare}\\n--network none\\nown namespace, only lo", style=dashed];`);

    const svg = await h.ok(['graph']);
    expect(svg).toContain(`>uplink ${wan.hostIf}<`);
    expect(svg).toContain(`>DNAT tcp 8080 -&gt; ${ip}:80<`);
    expect(svg).toContain(`>udp :${udp}  tcp :${tcp}<`);
  });
});
