// See polled.h.
#include "polled.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"

namespace anycastd {

namespace {

constexpr int kUnknownTtl = -1;

void OnClosed(uv_handle_t* handle) {
  PolledSocket* s = static_cast<PolledSocket*>(handle->data);
  close(s->fd);
  delete s->context;
  delete s;
}

}  // namespace

Napi::Value PolledTable::Open(Napi::Env env, int fd, int family, uint32_t ifindex, const Napi::Function& callback,
                              const char* resource, uv_poll_cb on_readable) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    close(fd);
    return ThrowSys(env, EIO, "napi_get_uv_event_loop");
  }
  PolledSocket* s = new PolledSocket();
  s->fd = fd;
  s->family = family;
  s->ifindex = ifindex;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s->id = next_++;
  }
  s->callback = Napi::Persistent(callback);
  s->context = new Napi::AsyncContext(env, resource);
  int ret = uv_poll_init(loop, &s->poll, fd);
  if (ret != 0) {
    close(fd);
    delete s->context;
    delete s;
    return ThrowSys(env, -ret, "uv_poll_init");
  }
  s->poll.data = s;
  ret = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (ret != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnClosed);
    return ThrowSys(env, -ret, "uv_poll_start");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    sockets_[s->id] = s;
  }
  return Napi::Number::New(env, s->id);
}

PolledSocket* PolledTable::Find(uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(id);
  return it == sockets_.end() ? nullptr : it->second;
}

void PolledTable::Close(uint32_t id) {
  PolledSocket* s = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sockets_.find(id);
    if (it == sockets_.end()) return;
    s = it->second;
    sockets_.erase(it);
  }
  s->callback.Reset();
  uv_poll_stop(&s->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnClosed);
}

int ReceivedTtl(msghdr* msg) {
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

}  // namespace anycastd
