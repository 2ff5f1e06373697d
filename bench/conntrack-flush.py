# Empties the conntrack table of the network namespace it runs in (IPv4 and IPv6), as
# `conntrack -F` does: one IPCTNL_MSG_CT_DELETE without attributes over netfilter's netlink.
# bench/dns.ts runs it before each case (see there why).
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
for fam in (socket.AF_INET, socket.AF_INET6):
    body = struct.pack('BBH', fam, 0, 0)  # nfgenmsg
    msg = struct.pack('=IHHII', 16 + len(body), (1 << 8) | 2, 0x1 | 0x4, 1, 0) + body  # CTNETLINK, IPCTNL_MSG_CT_DELETE, REQUEST|ACK
    s.send(msg)
    r = s.recv(4096)
    err = struct.unpack('=i', r[16:20])[0]
    if err not in (0, -2): raise SystemExit(f'conntrack flush: errno {-err}')
