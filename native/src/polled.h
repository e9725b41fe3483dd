// A socket fd read on Node's event loop (uv_poll) with a JavaScript callback, kept in a table by id:
// what the raw ICMPv6 and the UDP sockets share (open: poll + callback + async context; close: stop,
// then free in the close callback, with the fd). Also the (family, address, port, scope) → sockaddr
// parsing those sockets and sockopt.cc share. The table may be used from several threads (each
// socket by the thread that opened it, whose event loop polls it): its map is locked.
#pragma once
#include <napi.h>
#include <sys/socket.h>
#include <uv.h>

#include <mutex>
#include <string>
#include <unordered_map>

namespace anycastd {

struct PolledSocket {
  uv_poll_t poll;
  int fd;
  int family;
  uint32_t ifindex;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  uint32_t id;
};

class PolledTable {
 public:
  // Watches `fd` (taken over: closed on failure and at Close) and calls `on_readable` when it is
  // readable; returns the id, or throws (returning undefined) with the fd closed.
  Napi::Value Open(Napi::Env env, int fd, int family, uint32_t ifindex, const Napi::Function& callback,
                   const char* resource, uv_poll_cb on_readable);
  // The socket of `id`, or nullptr.
  PolledSocket* Find(uint32_t id);
  // Stops delivery and closes the socket (idempotent).
  void Close(uint32_t id);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, PolledSocket*> sockets_;
  uint32_t next_ = 1;
};

// The TTL / hop limit a datagram arrived with (IP_TTL or IPV6_HOPLIMIT control message), or -1.
int ReceivedTtl(msghdr* msg);

// Fills `ss` from (family, address, port, scopeId); false when the address does not parse.
bool MakeSockaddr(int family, const std::string& address, uint32_t port, uint32_t scope_id, sockaddr_storage* ss,
                  socklen_t* len);

}  // namespace anycastd
