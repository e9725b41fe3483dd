// XDP attach/detach/query on an ifindex (libbpf's netlink helpers) and if_nametoindex.
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>

#include "errors.h"
#include "util.h"

namespace anycastd {

namespace {

constexpr int kNoFd = -1;

// ifNameToIndex(name) -> ifindex
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  errno = 0;
  unsigned idx = if_nametoindex(ArgStr(info, 0).c_str());
  if (idx == 0) return ThrowSys(info.Env(), errno != 0 ? errno : ENODEV, "if_nametoindex");
  return Napi::Number::New(info.Env(), idx);
}

// ifIndexToName(ifindex) -> name | null when there is no such interface
Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  char name[IF_NAMESIZE];
  if (if_indextoname(ArgU32(info, 0), name) == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), name);
}

// xdpAttach(ifindex, progFd, flags, oldFd): oldFd >= 0 means XDP_FLAGS_REPLACE of exactly that program.
// progFd -1 detaches.
Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  uint32_t flags = ArgU32(info, 2);
  int old_fd = ArgInt(info, 3);
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  if (old_fd != kNoFd) {
    opts.old_prog_fd = old_fd;
    flags |= XDP_FLAGS_REPLACE;
  }
  LibbpfLogReset();
  int ret = bpf_xdp_attach(ArgInt(info, 0), ArgInt(info, 1), flags, &opts);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_xdp_attach", LibbpfLogTail(1024));
  return info.Env().Undefined();
}

// xdpQuery(ifindex) -> { progId, drvProgId, skbProgId, hwProgId, attachMode }
Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  int ret = bpf_xdp_query(ArgInt(info, 0), 0, &opts);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_xdp_query");
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("progId", opts.prog_id);
  out.Set("drvProgId", opts.drv_prog_id);
  out.Set("skbProgId", opts.skb_prog_id);
  out.Set("hwProgId", opts.hw_prog_id);
  out.Set("attachMode", opts.attach_mode);
  return out;
}

}  // namespace

void InitXdp(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "ifNameToIndex", IfNameToIndex);
  Export(env, exports, "ifIndexToName", IfIndexToName);
  Export(env, exports, "xdpAttach", XdpAttach);
  Export(env, exports, "xdpQuery", XdpQuery);
}

}  // namespace anycastd
