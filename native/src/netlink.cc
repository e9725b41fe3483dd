// Netlink request/response transport (rtnetlink, sock_diag): open a socket, send one message
// built by the TypeScript codec (src/native/nlmsg.ts), collect the replies that answer it; or send a
// batch of acked requests in one send and collect one ack per request (an errno each, 0 for success).
// The C side knows only the framing: nlmsghdr, NLMSG_DONE, NLMSG_ERROR and its extended ack message.
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

#include "errors.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace anycastd {

namespace {

constexpr size_t kRecvBufferBytes = 64 * 1024;  // larger than any single rtnetlink reply batch
constexpr int kReplyTimeoutSec = 5;             // the kernel answers at once; this only bounds a bug

// nlOpen(protocol) -> fd, with extended acks and capped error echoes
Napi::Value NlOpen(const Napi::CallbackInfo& info) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, ArgInt(info, 0));
  if (fd < 0) return ThrowSys(info.Env(), errno, "socket(AF_NETLINK)");
  int one = 1;
  timeval tv = {kReplyTimeoutSec, 0};
  sockaddr_nl local = {};
  local.nl_family = AF_NETLINK;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    int err = errno;
    close(fd);
    return ThrowSys(info.Env(), err, "netlink setup");
  }
  return Napi::Number::New(info.Env(), fd);
}

// One read of replies into `buf`, retried when a signal interrupts it; -1 (errno set) on failure.
ssize_t RecvReplies(int fd, std::vector<uint8_t>& buf) {
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0 || errno != EINTR) return n;
  }
}

// The extended-ack text (NLMSGERR_ATTR_MSG) of an error message, if the kernel sent one.
std::string ExtAckMessage(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  // With NETLINK_CAP_ACK the echoed request is only its header.
  size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  while (off + sizeof(nlattr) <= h->nlmsg_len) {
    const auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(h) + off);
    if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* text = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
      return std::string(text, strnlen(text, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// nlRequest(fd, message) -> Buffer[]: the replies (whole messages) to `message`, without the
// final NLMSG_DONE / ack. An NLMSG_ERROR with an error throws it (syscall "netlink").
Napi::Value NlRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  Napi::Buffer<uint8_t> req = ArgBuf(info, 1);
  if (req.Length() < sizeof(nlmsghdr)) return ThrowSys(env, EINVAL, "netlink");
  const auto* rh = reinterpret_cast<const nlmsghdr*>(req.Data());
  const uint32_t seq = rh->nlmsg_seq;
  const bool wants_ack = rh->nlmsg_flags & NLM_F_ACK;
  if (send(fd, req.Data(), req.Length(), 0) < 0) return ThrowSys(env, errno, "send(netlink)");

  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  std::vector<uint8_t> buf(kRecvBufferBytes);
  for (;;) {
    ssize_t n = RecvReplies(fd, buf);
    if (n < 0) return ThrowSys(env, errno, "recv(netlink)");
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a stale reply to an earlier, abandoned request
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (err->error != 0) return ThrowSys(env, -err->error, "netlink", ExtAckMessage(h));
        return out;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        int status = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) memcpy(&status, NLMSG_DATA(h), sizeof(int));
        if (status < 0) return ThrowSys(env, -status, "netlink", ExtAckMessage(h));
        return out;
      }
      out.Set(count++, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(h), h->nlmsg_len));
      if (!(h->nlmsg_flags & NLM_F_MULTI) && !wants_ack) return out;
    }
  }
}

// nlBatch(fd, messages, count) -> [errno, text][]: `messages` holds `count` requests, each with
// NLM_F_ACK and its own sequence number, consecutive from the first one's. They go out in one send
// (the kernel handles them one by one, in order); the result has one entry per request, in order:
// 0 and "" for success, else the errno and the extended-ack text. The caller keeps a batch small
// enough for its acks to fit the socket's receive buffer (they are all queued before the first read).
Napi::Value NlBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  Napi::Buffer<uint8_t> req = ArgBuf(info, 1);
  const uint32_t count = ArgU32(info, 2);
  if (req.Length() < sizeof(nlmsghdr) || count == 0) return ThrowSys(env, EINVAL, "netlink");
  const uint32_t first = reinterpret_cast<const nlmsghdr*>(req.Data())->nlmsg_seq;
  if (send(fd, req.Data(), req.Length(), 0) < 0) return ThrowSys(env, errno, "send(netlink)");

  std::vector<int> errs(count, -1);
  std::vector<std::string> texts(count);
  uint32_t acked = 0;
  std::vector<uint8_t> buf(kRecvBufferBytes);
  while (acked < count) {
    ssize_t n = RecvReplies(fd, buf);
    if (n < 0) return ThrowSys(env, errno, "recv(netlink)");
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      const uint32_t i = h->nlmsg_seq - first;  // wraps to a large value for an earlier request's reply
      if (h->nlmsg_type != NLMSG_ERROR || i >= count || errs[i] != -1) continue;
      const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      errs[i] = -err->error;
      if (err->error != 0) texts[i] = ExtAckMessage(h);
      acked++;
    }
  }
  Napi::Array out = Napi::Array::New(env, count);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Array e = Napi::Array::New(env, 2);
    e.Set(0u, Napi::Number::New(env, errs[i]));
    e.Set(1u, Napi::String::New(env, texts[i]));
    out.Set(i, e);
  }
  return out;
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "nlOpen", NlOpen);
  Export(env, exports, "nlRequest", NlRequest);
  Export(env, exports, "nlBatch", NlBatch);
}

}  // namespace anycastd
