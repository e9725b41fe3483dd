// Small system calls Node lacks: mount (for bpffs), setns (enter a network namespace on the
// calling thread) and close of fds the addon handed out.
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include "errors.h"
#include "util.h"

namespace anycastd {

namespace {

// mount(source, target, fstype, data)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string data = ArgStr(info, 3);
  int ret = mount(ArgStr(info, 0).c_str(), ArgStr(info, 1).c_str(), ArgStr(info, 2).c_str(), 0,
                  data.empty() ? nullptr : data.c_str());
  if (ret != 0) return ThrowSys(info.Env(), errno, "mount");
  return info.Env().Undefined();
}

// setns(fd, nstype): switch the calling (main) thread into the namespace behind fd.
Napi::Value SetNs(const Napi::CallbackInfo& info) {
  if (setns(ArgInt(info, 0), ArgInt(info, 1)) != 0) return ThrowSys(info.Env(), errno, "setns");
  return info.Env().Undefined();
}

// closeFd(fd)
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  if (close(ArgInt(info, 0)) != 0) return ThrowSys(info.Env(), errno, "close");
  return info.Env().Undefined();
}

}  // namespace

void InitSys(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "mount", Mount);
  Export(env, exports, "setns", SetNs);
  Export(env, exports, "closeFd", CloseFd);
  exports.Set("CLONE_NEWNET", Napi::Number::New(env, CLONE_NEWNET));
}

}  // namespace anycastd
