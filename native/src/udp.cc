// UDP sockets that report the TTL / hop limit each datagram arrived with (IP_RECVTTL,
// IPV6_RECVHOPLIMIT) and send with a chosen one (IP_TTL, IPV6_UNICAST_HOPS) — what Node's dgram
// cannot do, and what single-hop BFD needs (RFC 5881 §5: sent with 255, anything less dropped).
// Bound to one local address and port (a link-local one with its interface as scope), optionally to
// one interface, and with IP_FREEBIND (the address may come later); datagrams come back on Node's event loop (uv_poll), at most kMaxBatch per wake-up
// so a flood cannot hold the loop, each with its source, source port, received TTL and whether it
// was cut short (longer than kMaxDatagramBytes). Optionally marked with a traffic class (IP_TOS /
// IPV6_TCLASS, and SO_PRIORITY for the host's own queues).
// Each socket is used by the thread that opened it (the BFD sessions run on a worker thread); the
// table of sockets is shared by the threads and locked.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <vector>

#include "errors.h"
#include "polled.h"
#include "util.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

namespace anycastd {

namespace {

constexpr size_t kMaxDatagramBytes = 512;  // BFD control packets are 24..~80 bytes; more is cut and flagged
constexpr size_t kControlBytes = 128;      // room for IP_TTL / IPV6_HOPLIMIT
constexpr uint32_t kMaxBatch = 64;         // datagrams handed over per wake-up (the poll fires again)
constexpr int kPrioInteractive = 6;        // TC_PRIO_INTERACTIVE: the highest SO_PRIORITY without CAP_NET_ADMIN

PolledTable g_sockets;

// Reads up to kMaxBatch datagrams; calls back (errno, [{from, port, ttl, truncated, data}]).
void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  PolledSocket* s = static_cast<PolledSocket*>(handle->data);
  Napi::Env env = s->callback.Env();
  Napi::HandleScope scope(env);
  Napi::Array packets = Napi::Array::New(env);
  uint32_t count = 0;
  int err = status < 0 ? -status : 0;
  uint8_t buf[kMaxDatagramBytes];
  uint8_t control[kControlBytes];
  while (err == 0 && count < kMaxBatch) {
    sockaddr_storage from = {};
    iovec iov = {buf, sizeof(buf)};
    msghdr msg = {};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // An ICMP error queued for an earlier send (ECONNREFUSED and friends) is not the socket failing.
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) continue;
      err = errno;
      break;
    }
    char text[INET6_ADDRSTRLEN] = {};
    uint16_t port = 0;
    if (from.ss_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&from);
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
      port = ntohs(sin->sin_port);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&from);
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
      port = ntohs(sin6->sin6_port);
    }
    size_t kept = static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf);
    Napi::Object p = Napi::Object::New(env);
    p.Set("from", Napi::String::New(env, text));
    p.Set("port", Napi::Number::New(env, port));
    p.Set("ttl", Napi::Number::New(env, ReceivedTtl(&msg)));
    p.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_TRUNC) != 0));
    p.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf, kept));
    packets.Set(count++, p);
  }
  if (count == 0 && err == 0) return;
  s->callback.MakeCallback(env.Global(), {Napi::Number::New(env, err), packets}, *s->context);
}

// What a socket is opened with besides its address.
struct SocketSetup {
  uint32_t ifindex;
  int ttl;
  int tos;  // IP_TOS / IPV6_TCLASS byte; 0: left as is
};

int Configure(int fd, int family, const SocketSetup& setup, const char** what) {
  int one = 1;
  uint32_t ifindex = setup.ifindex;
  int ttl = setup.ttl;
  int tos = setup.tos;
  int priority = kPrioInteractive;
  int index = static_cast<int>(ifindex);
  struct Option {
    int level, name;
    const void* value;
    socklen_t len;
    const char* what;
  };
  std::vector<Option> options;
  if (ifindex != 0) options.push_back({SOL_SOCKET, SO_BINDTOIFINDEX, &index, sizeof(index), "setsockopt(SO_BINDTOIFINDEX)"});
  // Freebind: a session's address may still be tentative (IPv6 DAD) or gone with its link for a while.
  if (family == AF_INET) {
    options.push_back({IPPROTO_IP, IP_FREEBIND, &one, sizeof(one), "setsockopt(IP_FREEBIND)"});
    options.push_back({IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl), "setsockopt(IP_TTL)"});
    options.push_back({IPPROTO_IP, IP_RECVTTL, &one, sizeof(one), "setsockopt(IP_RECVTTL)"});
    if (tos != 0) options.push_back({IPPROTO_IP, IP_TOS, &tos, sizeof(tos), "setsockopt(IP_TOS)"});
  } else {
    options.push_back({IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one), "setsockopt(IPV6_V6ONLY)"});
    options.push_back({IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one), "setsockopt(IPV6_FREEBIND)"});
    options.push_back({IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl), "setsockopt(IPV6_UNICAST_HOPS)"});
    options.push_back({IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one), "setsockopt(IPV6_RECVHOPLIMIT)"});
    if (tos != 0) options.push_back({IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos), "setsockopt(IPV6_TCLASS)"});
  }
  // IP_TOS sets the socket's priority from the TOS on IPv4 only; set it for both families.
  if (tos != 0) options.push_back({SOL_SOCKET, SO_PRIORITY, &priority, sizeof(priority), "setsockopt(SO_PRIORITY)"});
  for (const Option& o : options) {
    if (setsockopt(fd, o.level, o.name, o.value, o.len) != 0) {
      *what = o.what;
      return errno;
    }
  }
  return 0;
}

// udpOpen(family, address, port, ifindex, ttl, callback(errno, packets), tos?) -> socket id.
// Bound to address:port (port 0: the kernel picks; ifindex scopes a link-local address and, when
// non-zero, binds the socket to that interface). Made in the calling thread's network namespace and
// read on the calling thread's event loop.
Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = ArgInt(info, 0);
  uint32_t ifindex = ArgU32(info, 3);
  sockaddr_storage ss;
  socklen_t len;
  if (!MakeSockaddr(family, ArgStr(info, 1), ArgU32(info, 2), ifindex, &ss, &len)) {
    return ThrowSys(env, EINVAL, "inet_pton");
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
  if (fd < 0) return ThrowSys(env, errno, "socket(SOCK_DGRAM)");
  SocketSetup setup = {ifindex, ArgInt(info, 4), ArgIsNullish(info, 6) ? 0 : ArgInt(info, 6)};
  const char* what = "";
  int err = Configure(fd, family, setup, &what);
  if (err == 0 && bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    err = errno;
    what = "bind";
  }
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, what);
  }
  return g_sockets.Open(env, fd, family, ifindex, info[5].As<Napi::Function>(), "anycastd:udp", OnReadable);
}

// udpSend(id, address, port, data): one datagram, scoped to the socket's interface (link-local).
// Returns the errno of a failed send (0: sent), so a peer that is gone costs no exception per packet.
Napi::Value UdpSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PolledSocket* s = g_sockets.Find(ArgU32(info, 0));
  if (s == nullptr) return ThrowSys(env, EBADF, "sendto(udp)");
  sockaddr_storage dst;
  socklen_t len;
  if (!MakeSockaddr(s->family, ArgStr(info, 1), ArgU32(info, 2), s->ifindex, &dst, &len)) {
    return ThrowSys(env, EINVAL, "inet_pton");
  }
  Napi::Buffer<uint8_t> data = ArgBuf(info, 3);
  ssize_t n = sendto(s->fd, data.Data(), data.Length(), 0, reinterpret_cast<sockaddr*>(&dst), len);
  return Napi::Number::New(env, n < 0 ? errno : 0);
}

// udpLocalPort(id) -> the bound port.
Napi::Value UdpLocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PolledSocket* s = g_sockets.Find(ArgU32(info, 0));
  if (s == nullptr) return ThrowSys(env, EBADF, "getsockname(udp)");
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(s->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ThrowSys(env, errno, "getsockname");
  }
  uint16_t port = ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
  return Napi::Number::New(env, ntohs(port));
}

// udpReadNow(id): reads what is queued now and calls back, as a wake-up would (a timer that fired late,
// after the event loop was held, must not beat datagrams already waiting in the socket).
Napi::Value UdpReadNow(const Napi::CallbackInfo& info) {
  PolledSocket* s = g_sockets.Find(ArgU32(info, 0));
  if (s != nullptr) OnReadable(&s->poll, 0, 0);
  return info.Env().Undefined();
}

// udpClose(id): stops delivery and closes the socket (idempotent).
Napi::Value UdpClose(const Napi::CallbackInfo& info) {
  g_sockets.Close(ArgU32(info, 0));
  return info.Env().Undefined();
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "udpOpen", UdpOpen);
  Export(env, exports, "udpSend", UdpSend);
  Export(env, exports, "udpLocalPort", UdpLocalPort);
  Export(env, exports, "udpReadNow", UdpReadNow);
  Export(env, exports, "udpClose", UdpClose);
}

}  // namespace anycastd
