// UDP sockets that report the TTL / hop limit each datagram arrived with (IP_RECVTTL,
// IPV6_RECVHOPLIMIT) and send with a chosen one (IP_TTL, IPV6_UNICAST_HOPS) — what Node's dgram
// cannot do, and what single-hop BFD needs (RFC 5881 §5: sent with 255, anything less dropped).
// Bound to one local address and port (a link-local one with its interface as scope), optionally to
// one interface, and with IP_FREEBIND (the address may come later); datagrams come back on Node's event loop (uv_poll), at most kMaxBatch per wake-up
// so a flood cannot hold the loop, each with its source, source port, received TTL and whether it
// was cut short (longer than kMaxDatagramBytes).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <unordered_map>
#include <vector>

#include "errors.h"
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
constexpr int kUnknownTtl = -1;

struct UdpSocket {
  uv_poll_t poll;
  int fd;
  int family;
  uint32_t ifindex;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  uint32_t id;
};

std::unordered_map<uint32_t, UdpSocket*> g_sockets;
uint32_t g_next_socket = 1;

void OnClosed(uv_handle_t* handle) {
  UdpSocket* s = static_cast<UdpSocket*>(handle->data);
  close(s->fd);
  delete s->context;
  delete s;
}

// The TTL / hop limit the datagram arrived with, or -1.
int TtlOf(msghdr* msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL;
    bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
    if ((v4 || v6) && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int ttl = 0;
      memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
      return ttl;
    }
  }
  return kUnknownTtl;
}

bool MakeSockaddr(int family, const std::string& address, uint32_t port, uint32_t scope_id, sockaddr_storage* ss,
                  socklen_t* len) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    *len = sizeof(*sin);
    return inet_pton(AF_INET, address.c_str(), &sin->sin_addr) == 1;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_scope_id = scope_id;
  *len = sizeof(*sin6);
  return inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) == 1;
}

// Reads up to kMaxBatch datagrams; calls back (errno, [{from, port, ttl, truncated, data}]).
void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  UdpSocket* s = static_cast<UdpSocket*>(handle->data);
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
    p.Set("ttl", Napi::Number::New(env, TtlOf(&msg)));
    p.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_TRUNC) != 0));
    p.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf, kept));
    packets.Set(count++, p);
  }
  if (count == 0 && err == 0) return;
  s->callback.MakeCallback(env.Global(), {Napi::Number::New(env, err), packets}, *s->context);
}

int Configure(int fd, int family, uint32_t ifindex, int ttl, const char** what) {
  int one = 1;
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
  } else {
    options.push_back({IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one), "setsockopt(IPV6_V6ONLY)"});
    options.push_back({IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one), "setsockopt(IPV6_FREEBIND)"});
    options.push_back({IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl), "setsockopt(IPV6_UNICAST_HOPS)"});
    options.push_back({IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one), "setsockopt(IPV6_RECVHOPLIMIT)"});
  }
  for (const Option& o : options) {
    if (setsockopt(fd, o.level, o.name, o.value, o.len) != 0) {
      *what = o.what;
      return errno;
    }
  }
  return 0;
}

// udpOpen(family, address, port, ifindex, ttl, callback(errno, packets)) -> socket id. Bound to
// address:port (port 0: the kernel picks; ifindex scopes a link-local address and, when non-zero,
// binds the socket to that interface). Made in the calling thread's network namespace.
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
  const char* what = "";
  int err = Configure(fd, family, ifindex, ArgInt(info, 4), &what);
  if (err == 0 && bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    err = errno;
    what = "bind";
  }
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, what);
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    close(fd);
    return ThrowSys(env, EIO, "napi_get_uv_event_loop");
  }
  UdpSocket* s = new UdpSocket();
  s->fd = fd;
  s->family = family;
  s->ifindex = ifindex;
  s->id = g_next_socket++;
  s->callback = Napi::Persistent(info[5].As<Napi::Function>());
  s->context = new Napi::AsyncContext(env, "anycastd:udp");
  int ret = uv_poll_init(loop, &s->poll, fd);
  if (ret != 0) {
    close(fd);
    delete s->context;
    delete s;
    return ThrowSys(env, -ret, "uv_poll_init");
  }
  s->poll.data = s;
  ret = uv_poll_start(&s->poll, UV_READABLE, OnReadable);
  if (ret != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnClosed);
    return ThrowSys(env, -ret, "uv_poll_start");
  }
  g_sockets[s->id] = s;
  return Napi::Number::New(env, s->id);
}

// udpSend(id, address, port, data): one datagram, scoped to the socket's interface (link-local).
// Returns the errno of a failed send (0: sent), so a peer that is gone costs no exception per packet.
Napi::Value UdpSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = g_sockets.find(ArgU32(info, 0));
  if (it == g_sockets.end()) return ThrowSys(env, EBADF, "sendto(udp)");
  UdpSocket* s = it->second;
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
  auto it = g_sockets.find(ArgU32(info, 0));
  if (it == g_sockets.end()) return ThrowSys(env, EBADF, "getsockname(udp)");
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(it->second->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ThrowSys(env, errno, "getsockname");
  }
  uint16_t port = ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
  return Napi::Number::New(env, ntohs(port));
}

// udpClose(id): stops delivery and closes the socket (idempotent).
Napi::Value UdpClose(const Napi::CallbackInfo& info) {
  auto it = g_sockets.find(ArgU32(info, 0));
  if (it != g_sockets.end()) {
    UdpSocket* s = it->second;
    g_sockets.erase(it);
    s->callback.Reset();
    uv_poll_stop(&s->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnClosed);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "udpOpen", UdpOpen);
  Export(env, exports, "udpSend", UdpSend);
  Export(env, exports, "udpLocalPort", UdpLocalPort);
  Export(env, exports, "udpClose", UdpClose);
}

}  // namespace anycastd
