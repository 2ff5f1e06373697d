// Paced latency probe, run inside the client sandbox (bench/dns.ts builds it
// with `cc -O2`):
//   dns-probe SERVER RATE SECONDS NAMES_FILE
// Sends A queries at RATE per second (names from the file, in turn) and prints
// {"sent","answered","p50","p90","p99"} in milliseconds.
//
// Why C and not a Node script: the p99 at 2000 q/s is a millisecond-scale
// number, and a Node client's own timers, event loop and garbage collector
// added as much jitter as the servers under test. Here the send time is read
// just before sendto() and the answer's time is the kernel's receive timestamp
// (SO_TIMESTAMPNS, the moment the datagram reached the socket), so what is
// left is the server's round trip and the scheduler's, not the probe's.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t); // the clock SO_TIMESTAMPNS uses
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* A question for NAME, type A, class IN, with ID; returns its length. */
static size_t query(unsigned char *q, const char *name, unsigned id) {
  size_t n = 12;
  memset(q, 0, 12);
  q[0] = id >> 8, q[1] = id & 0xff, q[2] = 0x01, q[5] = 1; // RD, QDCOUNT 1
  for (const char *l = name; *l;) {
    const char *dot = strchr(l, '.');
    size_t len = dot ? (size_t)(dot - l) : strlen(l);
    q[n++] = (unsigned char)len;
    memcpy(q + n, l, len), n += len;
    l += len + (dot ? 1 : 0);
  }
  q[n++] = 0, q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1;
  return n;
}

/* Reads every answer waiting; records each round trip by the kernel's arrival time. */
static void drain(int fd, int64_t *sent_at, int64_t *rtt, size_t *answered) {
  for (;;) {
    unsigned char buf[1500], ctl[CMSG_SPACE(sizeof(struct timespec))];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) return;
    if (n < 12) continue;
    int64_t at = now_ns();
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec t;
        memcpy(&t, CMSG_DATA(c), sizeof t);
        at = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
      }
    unsigned id = buf[0] << 8 | buf[1];
    if (sent_at[id] != 0) rtt[(*answered)++] = at - sent_at[id], sent_at[id] = 0;
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: dns-probe SERVER RATE SECONDS NAMES_FILE\n");
    return 2;
  }
  long rate = atol(argv[2]), seconds = atol(argv[3]);
  size_t total = (size_t)(rate * seconds);
  if (rate <= 0 || seconds <= 0 || total > 65536) {
    fprintf(stderr, "dns-probe: RATE x SECONDS must be 1..65536 (one id per query)\n");
    return 2;
  }
  FILE *f = fopen(argv[4], "r");
  if (!f) return perror(argv[4]), 1;
  char (*names)[256] = calloc(4096, 256);
  size_t count = 0;
  char line[512];
  while (count < 4096 && fgets(line, sizeof line, f))
    if (sscanf(line, "%255s", names[count]) == 1) count++;
  fclose(f);
  if (count == 0) return fprintf(stderr, "dns-probe: no names in %s\n", argv[4]), 1;

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return fprintf(stderr, "dns-probe: bad address %s\n", argv[1]), 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0), on = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0 ||
      connect(fd, (struct sockaddr *)&to, sizeof to) < 0)
    return perror("dns-probe: socket"), 1;

  int64_t *sent_at = calloc(65536, sizeof *sent_at), *rtt = calloc(total, sizeof *rtt);
  size_t answered = 0;
  unsigned char q[300];
  int64_t start = now_ns(), step = 1000000000 / rate;
  for (size_t i = 0; i < total; i++) {
    int64_t due = start + (int64_t)i * step;
    // Wait for the next send time, reading answers as they come.
    for (int64_t left; (left = due - now_ns()) > 0;) {
      struct timespec t = {left / 1000000000, left % 1000000000};
      struct pollfd p = {fd, POLLIN, 0};
      if (ppoll(&p, 1, &t, NULL) > 0) drain(fd, sent_at, rtt, &answered);
    }
    size_t n = query(q, names[i % count], (unsigned)i);
    sent_at[i] = now_ns();
    if (send(fd, q, n, 0) < 0 && errno != ECONNREFUSED) return perror("dns-probe: send"), 1;
  }
  for (int64_t end = now_ns() + 500000000, left; (left = end - now_ns()) > 0;) {
    struct timespec t = {left / 1000000000, left % 1000000000};
    struct pollfd p = {fd, POLLIN, 0};
    if (ppoll(&p, 1, &t, NULL) > 0) drain(fd, sent_at, rtt, &answered);
  }
  qsort(rtt, answered, sizeof *rtt, cmp);
#define PCT(p) (answered ? rtt[(size_t)(answered * (p)) < answered ? (size_t)(answered * (p)) : answered - 1] / 1e6 : -1)
  printf("{\"sent\":%zu,\"answered\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f}\n", total, answered, PCT(0.5), PCT(0.9), PCT(0.99));
  return 0;
}
