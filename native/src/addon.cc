// Module init of the anycastd native addon: one Init per part. Each part is a thin layer of
// buffers and ints over a C API; types, validation and docs live in src/native/*.ts.
#include <napi.h>

#include "parts.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  anycastd::InitErrors(env, exports);
  anycastd::InitBpf(env, exports);
  anycastd::InitXdp(env, exports);
  anycastd::InitSockopt(env, exports);
  anycastd::InitNetlink(env, exports);
  anycastd::InitNlWatch(env, exports);
  anycastd::InitSys(env, exports);
  anycastd::InitIcmp6(env, exports);
  anycastd::InitUdp(env, exports);
  anycastd::InitNotify(env, exports);
  anycastd::InitTap(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(anycastd, Init)
