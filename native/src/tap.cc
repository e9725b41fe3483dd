// A packet tap: an AF_PACKET socket (cooked, SOCK_DGRAM: each packet starts at its network header)
// with a classic BPF socket filter chosen by the caller, so the kernel hands over only the packets that
// match, cut to the filter's return value. Nothing arrives before the filter is attached: the socket is
// made with protocol 0 and bound to ETH_P_ALL only after SO_ATTACH_FILTER. Read by draining at most
// `max` packets per call without blocking (the caller polls); the receive buffer is kept small, so a
// burst beyond it is dropped by the kernel, never queued without bound.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "errors.h"
#include "util.h"

namespace anycastd {

namespace {

constexpr size_t kMaxSnapBytes = 256;  // the caller reads headers only

// Attaches the classic BPF program in `prog` (struct sock_filter[], 8 bytes each) to `fd`.
int AttachFilter(int fd, const Napi::Buffer<uint8_t>& prog) {
  sock_fprog fprog = {};
  fprog.len = static_cast<unsigned short>(prog.Length() / sizeof(sock_filter));
  fprog.filter = reinterpret_cast<sock_filter*>(prog.Data());
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) == 0 ? 0 : errno;
}

// tapOpen(filter, rcvbufBytes) -> fd: made in the calling thread's network namespace, all interfaces.
Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ThrowSys(env, errno, "socket(AF_PACKET, SOCK_DGRAM)");
  int rcvbuf = ArgInt(info, 1);
  const char* what = "setsockopt(SO_RCVBUF)";
  int err = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0 ? 0 : errno;
  if (err == 0) {
    what = "setsockopt(SO_ATTACH_FILTER)";
    err = AttachFilter(fd, ArgBuf(info, 0));
  }
  if (err == 0) {
    what = "bind(AF_PACKET)";
    sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) err = errno;
  }
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, what);
  }
  return Napi::Number::New(env, fd);
}

// tapSetFilter(fd, filter): replaces the filter.
Napi::Value TapSetFilter(const Napi::CallbackInfo& info) {
  int err = AttachFilter(ArgInt(info, 0), ArgBuf(info, 1));
  if (err != 0) return ThrowSys(info.Env(), err, "setsockopt(SO_ATTACH_FILTER)");
  return info.Env().Undefined();
}

// tapDrain(fd, max) -> Buffer[]: the packets queued now, at most `max`, each its first bytes.
Napi::Value TapDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  uint32_t max = ArgU32(info, 1);
  Napi::Array out = Napi::Array::New(env);
  uint8_t buf[kMaxSnapBytes];
  uint32_t count = 0;
  while (count < max) {
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return ThrowSys(env, errno, "recv(AF_PACKET)");
    }
    size_t kept = static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf);
    out.Set(count++, Napi::Buffer<uint8_t>::Copy(env, buf, kept));
  }
  return out;
}

}  // namespace

void InitTap(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "tapOpen", TapOpen);
  Export(env, exports, "tapSetFilter", TapSetFilter);
  Export(env, exports, "tapDrain", TapDrain);
}

}  // namespace anycastd
