// See errors.h. libbpf messages go to a bounded buffer (and to stderr only when
// ANYCASTD_LIBBPF_DEBUG is set), so a failed load can report the verifier's verdict.
#include "errors.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace anycastd {

namespace {

constexpr size_t kLogKeepBytes = 64 * 1024;  // enough for the end of a verifier log
std::string g_libbpf_log;
bool g_libbpf_debug = false;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  char line[4096];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(line, sizeof(line), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (level != LIBBPF_DEBUG) {
    g_libbpf_log.append(line, static_cast<size_t>(n) < sizeof(line) ? n : sizeof(line) - 1);
    if (g_libbpf_log.size() > kLogKeepBytes) g_libbpf_log.erase(0, g_libbpf_log.size() - kLogKeepBytes);
  }
  if (g_libbpf_debug) fputs(line, stderr);
  return n;
}

// lastLibbpfLog(maxBytes): what libbpf printed most recently (for diagnostics).
Napi::Value LastLibbpfLog(const Napi::CallbackInfo& info) {
  size_t max = info.Length() > 0 ? info[0].As<Napi::Number>().Uint32Value() : 4096;
  return Napi::String::New(info.Env(), LibbpfLogTail(max));
}

}  // namespace

int ErrnoOf(int ret) {
  if (ret < -1) return -ret;
  return errno != 0 ? errno : EIO;
}

Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!detail.empty()) e.Set("detail", Napi::String::New(env, detail));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

void LibbpfLogReset() { g_libbpf_log.clear(); }

std::string LibbpfLogTail(size_t max) {
  if (g_libbpf_log.size() <= max) return g_libbpf_log;
  return g_libbpf_log.substr(g_libbpf_log.size() - max);
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  const char* debug = getenv("ANYCASTD_LIBBPF_DEBUG");
  g_libbpf_debug = debug != nullptr && debug[0] != '\0' && strcmp(debug, "0") != 0;
  libbpf_set_print(LibbpfPrint);
  exports.Set("lastLibbpfLog", Napi::Function::New(env, LastLibbpfLog));
}

}  // namespace anycastd
