// SPDX-License-Identifier: Apache-2.0
// syn-flood: the lab's bounded SYN generator (a test bed tool, not product). Built by `make` into
// build/lab/syn-flood.
//
// Sends TCP SYNs (RFC 9293) with spoofed sources to one target through a raw IPv4 socket (IPPROTO_RAW:
// IP_HDRINCL, RFC 791 headers built here; the kernel fills in the total length, header checksum and
// identification), in batches of BATCH through sendmmsg(2), as fast as the kernel takes them, until
// --count SYNs are sent or --seconds have passed. Run inside a lab namespace (it needs CAP_NET_RAW):
//   ip netns exec <ns> build/lab/syn-flood --target 192.0.2.10 --port 8000 \
//       --sources 203.0.113.64/26,198.51.100.16/28 --count 200000 --seconds 10 [--rate 50000]
// Bounded whatever it is asked: at most MAX_COUNT SYNs, MAX_SECONDS seconds, and only documentation
// addresses (RFC 5737) as target and sources. Sources cycle through the given prefixes (their host
// addresses), the source port through 1024..65535, so every SYN is a new flow. --rate paces it (SYNs per
// second, 0: as fast as it goes). Prints one JSON line:
// {"sent": n, "elapsed_ms": n, "errors": n, "first_error": "..."}.
// A full queue (ENOBUFS, EAGAIN) is counted as errors for the rest of the batch and sending goes on.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 4000000L /* 20 s at 200,000 per second */
#define MAX_SECONDS 20.0
#define MAX_SOURCES 4096
#define PORT_LO 1024
#define PORT_HI 65535
#define BATCH 64
#define HLEN 40 /* IPv4 20 + TCP 20 */
#define TTL 64
#define WINDOW 64240
#define TCP_SYN 0x02

static const struct {
  uint32_t net, mask;
} DOC_NETS[] = {{0xc0000200, 0xffffff00}, {0xc6336400, 0xffffff00}, {0xcb007100, 0xffffff00}};

static int documentation(uint32_t addr, int len) {
  for (size_t i = 0; i < sizeof DOC_NETS / sizeof DOC_NETS[0]; i++)
    if (len >= 24 && (addr & DOC_NETS[i].mask) == DOC_NETS[i].net) return 1;
  return 0;
}

static int usage(const char *why) {
  fprintf(stderr, "syn-flood: %s\n", why);
  return 2;
}

/** "a.b.c.d[/len]" → host-order address and prefix length; 0 on a malformed one. */
static int parse_prefix(const char *s, uint32_t *addr, int *len) {
  char buf[64];
  if (strlen(s) >= sizeof buf) return 0;
  strcpy(buf, s);
  char *slash = strchr(buf, '/');
  *len = 32;
  if (slash) {
    *slash = 0;
    char *end;
    long l = strtol(slash + 1, &end, 10);
    if (*end || l < 0 || l > 32) return 0;
    *len = (int)l;
  }
  struct in_addr a;
  if (inet_pton(AF_INET, buf, &a) != 1) return 0;
  *addr = ntohl(a.s_addr);
  if (*len < 32) *addr &= ~((1u << (32 - *len)) - 1);
  return 1;
}

static uint32_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16), put16(p + 2, v & 0xffff); }

int main(int argc, char **argv) {
  const char *target = NULL, *sources = NULL, *exclude = "";
  long port = 0, count = 10000, rate = 0;
  double seconds = 10.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--target")) target = v;
    else if (!strcmp(k, "--port")) port = atol(v);
    else if (!strcmp(k, "--sources")) sources = v;
    else if (!strcmp(k, "--exclude")) exclude = v;
    else if (!strcmp(k, "--count")) count = atol(v);
    else if (!strcmp(k, "--seconds")) seconds = atof(v);
    else if (!strcmp(k, "--rate")) rate = atol(v);
    else return usage("options: --target A --port P --sources P1,P2 [--exclude A,B] [--count N] [--seconds S] [--rate R]");
  }
  if (argc % 2 == 0) return usage("every option takes a value");
  if (!target || !sources) return usage("--target and --sources are required");
  uint32_t dst;
  int dlen;
  if (!parse_prefix(target, &dst, &dlen) || !documentation(dst, 32))
    return usage("documentation addresses only (RFC 5737)");
  if (count <= 0 || count > MAX_COUNT || !(seconds > 0 && seconds <= MAX_SECONDS) || port <= 0 ||
      port > PORT_HI || rate < 0)
    return usage("count 1..4000000, seconds up to 20, port 1..65535, rate >= 0");

  static uint32_t srcs[MAX_SOURCES];
  int n_src = 0;
  char list[1024];
  if (strlen(sources) >= sizeof list) return usage("--sources too long");
  strcpy(list, sources);
  for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    uint32_t net;
    int len;
    if (!parse_prefix(tok, &net, &len) || !documentation(net, len))
      return usage("documentation addresses only (RFC 5737)");
    uint32_t size = len == 32 ? 1 : 1u << (32 - len);
    for (uint32_t h = 0; h < size && n_src < MAX_SOURCES; h++) {
      if (size > 2 && (h == 0 || h == size - 1)) continue; /* hosts only */
      uint32_t a = net + h;
      char ex[1024], one[32];
      snprintf(one, sizeof one, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
      snprintf(ex, sizeof ex, ",%s,", exclude);
      char needle[40];
      snprintf(needle, sizeof needle, ",%s,", one);
      if (!strstr(ex, needle)) srcs[n_src++] = a;
    }
  }
  if (!n_src) return usage("no source address left");

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    perror("syn-flood: socket");
    return 1;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(dst)};
  /* the TCP checksum's constant part: pseudo-header without the source, header without sport/seq */
  uint32_t tcp_const = (dst >> 16) + (dst & 0xffff) + IPPROTO_TCP + 20 + (uint32_t)port +
                       ((5 << 12) | TCP_SYN) + WINDOW;
  static uint8_t pkts[BATCH][HLEN];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(pkts, 0, sizeof pkts);
  for (int b = 0; b < BATCH; b++) {
    uint8_t *p = pkts[b];
    p[0] = 0x45, put16(p + 6, 0x4000), p[8] = TTL, p[9] = IPPROTO_TCP, put32(p + 16, dst);
    uint8_t *t = p + 20;
    put16(t + 2, (uint16_t)port), t[12] = 5 << 4, t[13] = TCP_SYN, put16(t + 14, WINDOW);
    iov[b] = (struct iovec){.iov_base = p, .iov_len = HLEN};
    msgs[b] = (struct mmsghdr){.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[b], .msg_iovlen = 1}};
  }

  long sent = 0, errors = 0, i = 0;
  char first_error[128] = "";
  const uint32_t n_ports = PORT_HI - PORT_LO + 1;
  double start = now_s(), deadline = start + seconds;
  while (sent + errors < count) {
    double t = now_s();
    if (t >= deadline) break;
    if (rate > 0 && (double)(sent + errors) > (t - start) * rate) {
      usleep(200);
      continue;
    }
    int n = (int)(count - sent - errors < BATCH ? count - sent - errors : BATCH);
    for (int b = 0; b < n; b++, i++) {
      uint8_t *p = pkts[b], *tcp = p + 20;
      uint32_t src = srcs[i % n_src];
      uint16_t sport = PORT_LO + (uint16_t)((i / n_src) % n_ports);
      uint32_t seq = (uint32_t)(i * 2654435761u);
      put32(p + 12, src);
      put16(tcp, sport);
      put32(tcp + 4, seq);
      uint32_t sum = tcp_const + (src >> 16) + (src & 0xffff) + sport + (seq >> 16) + (seq & 0xffff);
      put16(tcp + 16, (uint16_t)~fold(sum));
    }
    int done = sendmmsg(fd, msgs, n, 0);
    if (done < 0) done = 0;
    sent += done;
    if (done < n) {
      if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", strerror(errno));
      errors += n - done;
    }
  }
  long elapsed = (long)((now_s() - start) * 1000 + 0.5);
  printf("{\"sent\": %ld, \"elapsed_ms\": %ld, \"errors\": %ld", sent, elapsed, errors);
  if (first_error[0]) printf(", \"first_error\": \"%s\"", first_error);
  printf("}\n");
  return 0;
}
