// Errors of the native addon, made in one place: every failure is thrown to JavaScript as an Error
// carrying `errno` (positive), `syscall` and, when libbpf said something, `detail`. The TypeScript
// layer (src/native/errors.ts) turns it into a typed SystemError. libbpf's print callback is routed
// here so it never writes to stderr; its last messages are kept as detail for the next error.
#pragma once
#include <napi.h>

#include <string>

namespace anycastd {

// errno of a failed call under either convention: libbpf's negative errno, or -1 with errno set.
int ErrnoOf(int ret);

// Throws {errno, syscall, detail} as a JavaScript exception and returns undefined for `return`.
Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

// Forget what libbpf printed so far (call before a libbpf call whose messages matter).
void LibbpfLogReset();
// The last `max` bytes libbpf printed since the last reset.
std::string LibbpfLogTail(size_t max);

void InitErrors(Napi::Env env, Napi::Object exports);

}  // namespace anycastd
