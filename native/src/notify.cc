// sd_notify(3) without libsystemd: one datagram with the state lines ("READY=1", "WATCHDOG=1", ...)
// to the AF_UNIX socket systemd names in $NOTIFY_SOCKET, a filesystem path or, with a leading '@', a
// name in the abstract namespace (the '@' becomes a NUL byte). A fresh socket per message, as
// libsystemd does: messages are rare (the watchdog pings every few seconds at most).
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "util.h"

namespace anycastd {

namespace {

// notifySend(socketName, message): sends `message` as one datagram to `socketName`.
Napi::Value NotifySend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgStr(info, 0);
  std::string message = ArgStr(info, 1);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() > sizeof(addr.sun_path) || (name[0] != '/' && name[0] != '@'))
    return ThrowSys(env, EINVAL, "sd_notify", "NOTIFY_SOCKET must be an absolute path or @abstract");
  memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = offsetof(struct sockaddr_un, sun_path) + name.size();
  if (name[0] == '@') addr.sun_path[0] = '\0';  // abstract: no trailing NUL counted
  else if (name.size() < sizeof(addr.sun_path)) len += 1;  // path: include its NUL
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(env, errno, "socket");
  ssize_t sent = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                        reinterpret_cast<struct sockaddr*>(&addr), len);
  int err = errno;
  close(fd);
  if (sent < 0) return ThrowSys(env, err, "sendto");
  return env.Undefined();
}

}  // namespace

void InitNotify(Napi::Env env, Napi::Object exports) { Export(env, exports, "notifySend", NotifySend); }

}  // namespace anycastd
