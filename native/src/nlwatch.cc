// Netlink multicast subscriptions delivered on Node's event loop: a socket joined to groups
// (rtnetlink link/address/route/neighbour changes, sock_diag socket-destroy broadcasts), polled
// with libuv (uv_poll) and every batch of messages handed to a JavaScript callback as Buffers.
// An overrun (ENOBUFS: the kernel dropped events) is reported so the caller can resynchronise.
#include <errno.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <unordered_map>
#include <vector>

#include "errors.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace anycastd {

namespace {

constexpr size_t kRecvBufferBytes = 64 * 1024;
constexpr int kRcvBufBytes = 4 * 1024 * 1024;  // room for bursts (a route table flap)

struct Watch {
  uv_poll_t poll;
  int fd;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  uint32_t id;
};

std::unordered_map<uint32_t, Watch*> g_watches;
uint32_t g_next_watch = 1;

void OnClosed(uv_handle_t* handle) {
  Watch* w = static_cast<Watch*>(handle->data);
  close(w->fd);
  delete w->context;
  delete w;
}

// Reads every queued message; calls back (errno, messages).
void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Watch* w = static_cast<Watch*>(handle->data);
  Napi::Env env = w->callback.Env();
  Napi::HandleScope scope(env);
  Napi::Array messages = Napi::Array::New(env);
  uint32_t count = 0;
  int err = status < 0 ? -status : 0;
  std::vector<uint8_t> buf(kRecvBufferBytes);
  while (err == 0) {
    ssize_t n = recv(w->fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_NOOP) continue;
      messages.Set(count++, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(h), h->nlmsg_len));
    }
  }
  if (count == 0 && err == 0) return;
  w->callback.MakeCallback(env.Global(), {Napi::Number::New(env, err), messages}, *w->context);
}

// nlWatch(protocol, groups[], callback(errno, messages)) -> watch id; the socket is made in the
// calling thread's network namespace.
Napi::Value NlWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, ArgInt(info, 0));
  if (fd < 0) return ThrowSys(env, errno, "socket(AF_NETLINK)");
  sockaddr_nl local = {};
  local.nl_family = AF_NETLINK;
  int rcvbuf = kRcvBufBytes;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
    int err = errno;
    close(fd);
    return ThrowSys(env, err, "netlink setup");
  }
  Napi::Array groups = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < groups.Length(); i++) {
    int group = groups.Get(i).As<Napi::Number>().Int32Value();
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
      int err = errno;
      close(fd);
      return ThrowSys(env, err, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
    }
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    close(fd);
    return ThrowSys(env, EIO, "napi_get_uv_event_loop");
  }
  Watch* w = new Watch();
  w->fd = fd;
  w->id = g_next_watch++;
  w->callback = Napi::Persistent(info[2].As<Napi::Function>());
  w->context = new Napi::AsyncContext(env, "anycastd:netlink-watch");
  int ret = uv_poll_init(loop, &w->poll, fd);
  if (ret == 0) {
    w->poll.data = w;
    ret = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
    if (ret != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
      return ThrowSys(env, -ret, "uv_poll_start");
    }
  } else {
    close(fd);
    delete w->context;
    delete w;
    return ThrowSys(env, -ret, "uv_poll_init");
  }
  g_watches[w->id] = w;
  return Napi::Number::New(env, w->id);
}

// nlUnwatch(id): stops delivery and closes the socket (idempotent).
Napi::Value NlUnwatch(const Napi::CallbackInfo& info) {
  auto it = g_watches.find(ArgU32(info, 0));
  if (it != g_watches.end()) {
    Watch* w = it->second;
    g_watches.erase(it);
    w->callback.Reset();
    uv_poll_stop(&w->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitNlWatch(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "nlWatch", NlWatch);
  Export(env, exports, "nlUnwatch", NlUnwatch);
}

}  // namespace anycastd
