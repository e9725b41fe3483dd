// TCP sockets with the options Node lacks, made before connect/listen and then handed to Node by
// fd: TCP_MD5SIG (RFC 2385), IP_TTL/IP_MINTTL and IPV6_UNICAST_HOPS/IPV6_MINHOPCOUNT (GTSM,
// RFC 5082), SO_BINDTODEVICE. Addresses come in as strings and are parsed with inet_pton here, so
// the C structs (sockaddr_in/in6, tcp_md5sig) are only ever laid out by the C compiler.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"
#include "polled.h"
#include "util.h"

#ifndef TCP_MD5SIG_FLAG_IFINDEX
#define TCP_MD5SIG_FLAG_IFINDEX 0x2  // linux/tcp.h; glibc 2.36 names the field __tcpm_pad
#endif

namespace anycastd {

namespace {

// Parses args [i..i+3] = family, address, port, scopeId; throws EINVAL (syscall inet_pton) on a bad address.
bool SockaddrArgs(const Napi::CallbackInfo& info, size_t i, sockaddr_storage* ss, socklen_t* len) {
  if (MakeSockaddr(ArgInt(info, i), ArgStr(info, i + 1), ArgU32(info, i + 2), ArgU32(info, i + 3), ss, len)) return true;
  ThrowSys(info.Env(), EINVAL, "inet_pton");
  return false;
}

// sockCreate(family, type) -> fd, non-blocking and close-on-exec
Napi::Value SockCreate(const Napi::CallbackInfo& info) {
  int fd = socket(ArgInt(info, 0), ArgInt(info, 1) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(info.Env(), errno, "socket");
  return Napi::Number::New(info.Env(), fd);
}

// sockSetInt(fd, level, option, value)
Napi::Value SockSetInt(const Napi::CallbackInfo& info) {
  int value = ArgInt(info, 3);
  if (setsockopt(ArgInt(info, 0), ArgInt(info, 1), ArgInt(info, 2), &value, sizeof(value)) != 0) {
    return ThrowSys(info.Env(), errno, "setsockopt");
  }
  return info.Env().Undefined();
}

// sockGetInt(fd, level, option) -> value
Napi::Value SockGetInt(const Napi::CallbackInfo& info) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(ArgInt(info, 0), ArgInt(info, 1), ArgInt(info, 2), &value, &len) != 0) {
    return ThrowSys(info.Env(), errno, "getsockopt");
  }
  return Napi::Number::New(info.Env(), value);
}

// sockBindToDevice(fd, ifname): SO_BINDTODEVICE ("" unbinds)
Napi::Value SockBindToDevice(const Napi::CallbackInfo& info) {
  std::string dev = ArgStr(info, 1);
  if (setsockopt(ArgInt(info, 0), SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size()) != 0) {
    return ThrowSys(info.Env(), errno, "setsockopt(SO_BINDTODEVICE)");
  }
  return info.Env().Undefined();
}

// sockSetMd5(fd, family, address, port(ignored), scopeId(ignored), prefixLen, ifindex, key)
// TCP_MD5SIG_EXT for (address/prefixLen, ifindex); an empty key removes it.
Napi::Value SockSetMd5(const Napi::CallbackInfo& info) {
  tcp_md5sig sig;
  memset(&sig, 0, sizeof(sig));
  socklen_t len;
  if (!SockaddrArgs(info, 1, &sig.tcpm_addr, &len)) return info.Env().Undefined();
  int prefix_len = ArgInt(info, 5);
  uint32_t ifindex = ArgU32(info, 6);
  Napi::Buffer<uint8_t> key = ArgBuf(info, 7);
  if (key.Length() > TCP_MD5SIG_MAXKEYLEN) return ThrowSys(info.Env(), EINVAL, "setsockopt(TCP_MD5SIG)");
  if (prefix_len >= 0) {
    sig.tcpm_flags |= TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = prefix_len;
  }
  if (ifindex != 0) {
    sig.tcpm_flags |= TCP_MD5SIG_FLAG_IFINDEX;
    sig.__tcpm_pad = ifindex;
  }
  sig.tcpm_keylen = key.Length();
  memcpy(sig.tcpm_key, key.Data(), key.Length());
  if (setsockopt(ArgInt(info, 0), IPPROTO_TCP, TCP_MD5SIG_EXT, &sig, sizeof(sig)) != 0) {
    return ThrowSys(info.Env(), errno, "setsockopt(TCP_MD5SIG_EXT)");
  }
  return info.Env().Undefined();
}

// sockBind(fd, family, address, port, scopeId)
Napi::Value SockBind(const Napi::CallbackInfo& info) {
  sockaddr_storage ss;
  socklen_t len;
  if (!SockaddrArgs(info, 1, &ss, &len)) return info.Env().Undefined();
  if (bind(ArgInt(info, 0), reinterpret_cast<sockaddr*>(&ss), len) != 0) return ThrowSys(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

// sockListen(fd, backlog)
Napi::Value SockListen(const Napi::CallbackInfo& info) {
  if (listen(ArgInt(info, 0), ArgInt(info, 1)) != 0) return ThrowSys(info.Env(), errno, "listen");
  return info.Env().Undefined();
}

// sockLocalPort(fd) -> the bound port (getsockname)
Napi::Value SockLocalPort(const Napi::CallbackInfo& info) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(ArgInt(info, 0), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ThrowSys(info.Env(), errno, "getsockname");
  }
  uint16_t port = ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
  return Napi::Number::New(info.Env(), ntohs(port));
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "sockCreate", SockCreate);
  Export(env, exports, "sockSetInt", SockSetInt);
  Export(env, exports, "sockGetInt", SockGetInt);
  Export(env, exports, "sockBindToDevice", SockBindToDevice);
  Export(env, exports, "sockSetMd5", SockSetMd5);
  Export(env, exports, "sockBind", SockBind);
  Export(env, exports, "sockListen", SockListen);
  Export(env, exports, "sockLocalPort", SockLocalPort);
}

}  // namespace anycastd
