// Raw ICMPv6 sockets bound to one interface, for Neighbor Discovery messages the kernel does not
// send for us (RFC 4861 Router Advertisements of unnumbered BGP peering, RFC 8950): packets go out
// with hop limit 255 (RFC 4861 §6.1.2 receivers drop anything less) and come back on Node's event
// loop (uv_poll) with their source address and received hop limit. An ICMP6_FILTER passes only the
// given message types. The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets itself.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
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

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

namespace anycastd {

namespace {

constexpr size_t kMaxPacketBytes = 1500;  // ND messages are small; one link MTU is plenty
constexpr size_t kControlBytes = 256;     // room for IPV6_HOPLIMIT (and anything else the kernel adds)

PolledTable g_sockets;

// Reads every queued packet; calls back (errno, [{from, hopLimit, data}]).
void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  PolledSocket* s = static_cast<PolledSocket*>(handle->data);
  Napi::Env env = s->callback.Env();
  Napi::HandleScope scope(env);
  Napi::Array packets = Napi::Array::New(env);
  uint32_t count = 0;
  int err = status < 0 ? -status : 0;
  std::vector<uint8_t> buf(kMaxPacketBytes);
  std::vector<uint8_t> control(kControlBytes);
  while (err == 0) {
    sockaddr_in6 from = {};
    iovec iov = {buf.data(), buf.size()};
    msghdr msg = {};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof(text));
    Napi::Object p = Napi::Object::New(env);
    p.Set("from", Napi::String::New(env, text));
    p.Set("hopLimit", Napi::Number::New(env, ReceivedTtl(&msg)));
    p.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(n)));
    packets.Set(count++, p);
  }
  if (count == 0 && err == 0) return;
  s->callback.MakeCallback(env.Global(), {Napi::Number::New(env, err), packets}, *s->context);
}

// Socket set-up: bound to the interface, hop limit `hops` out (unicast and multicast, multicast on
// this interface, not looped back to us), received hop limits reported, only `types` let through.
int Configure(int fd, uint32_t ifindex, int hops, const Napi::Array& types, const char** what) {
  int one = 1;
  int zero = 0;
  int index = static_cast<int>(ifindex);
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  for (uint32_t i = 0; i < types.Length(); i++) {
    ICMP6_FILTER_SETPASS(types.Get(i).As<Napi::Number>().Uint32Value() & 0xff, &filter);
  }
  struct Option {
    int level, name;
    const void* value;
    socklen_t len;
    const char* what;
  } options[] = {
      {SOL_SOCKET, SO_BINDTOIFINDEX, &index, sizeof(index), "setsockopt(SO_BINDTOIFINDEX)"},
      {IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops), "setsockopt(IPV6_UNICAST_HOPS)"},
      {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops), "setsockopt(IPV6_MULTICAST_HOPS)"},
      {IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index), "setsockopt(IPV6_MULTICAST_IF)"},
      {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero), "setsockopt(IPV6_MULTICAST_LOOP)"},
      {IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one), "setsockopt(IPV6_RECVHOPLIMIT)"},
      {IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter), "setsockopt(ICMP6_FILTER)"},
  };
  for (const Option& o : options) {
    if (setsockopt(fd, o.level, o.name, o.value, o.len) != 0) {
      *what = o.what;
      return errno;
    }
  }
  return 0;
}

// icmp6Open(ifindex, hopLimit, types[], callback(errno, packets)) -> socket id; the socket is made
// in the calling thread's network namespace.
Napi::Value Icmp6Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t ifindex = ArgU32(info, 0);
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
  if (fd < 0) return ThrowSys(env, errno, "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)");
  const char* what = "";
  int err = Configure(fd, ifindex, ArgInt(info, 1), info[2].As<Napi::Array>(), &what);
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, what);
  }
  return g_sockets.Open(env, fd, AF_INET6, ifindex, info[3].As<Napi::Function>(), "anycastd:icmp6", OnReadable);
}

// icmp6Send(id, destination, message): one ICMPv6 message to `destination`, scoped to the socket's
// interface (a link-local or multicast destination needs it). The kernel picks the source address.
Napi::Value Icmp6Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PolledSocket* s = g_sockets.Find(ArgU32(info, 0));
  if (s == nullptr) return ThrowSys(env, EBADF, "sendto(icmp6)");
  sockaddr_in6 dst = {};
  dst.sin6_family = AF_INET6;
  dst.sin6_scope_id = s->ifindex;
  if (inet_pton(AF_INET6, ArgStr(info, 1).c_str(), &dst.sin6_addr) != 1) return ThrowSys(env, EINVAL, "inet_pton");
  Napi::Buffer<uint8_t> msg = ArgBuf(info, 2);
  ssize_t n = sendto(s->fd, msg.Data(), msg.Length(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
  if (n < 0) return ThrowSys(env, errno, "sendto(icmp6)");
  return env.Undefined();
}

// icmp6Close(id): stops delivery and closes the socket (idempotent).
Napi::Value Icmp6Close(const Napi::CallbackInfo& info) {
  g_sockets.Close(ArgU32(info, 0));
  return info.Env().Undefined();
}

}  // namespace

void InitIcmp6(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "icmp6Open", Icmp6Open);
  Export(env, exports, "icmp6Send", Icmp6Send);
  Export(env, exports, "icmp6Close", Icmp6Close);
}

}  // namespace anycastd
