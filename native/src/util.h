// Argument helpers shared by the addon's parts. Types were validated by the TypeScript layer;
// these only unwrap them.
#pragma once
#include <napi.h>

#include <string>

namespace anycastd {

inline int32_t ArgInt(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
inline uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Uint32Value(); }
inline std::string ArgStr(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::String>().Utf8Value(); }
inline Napi::Buffer<uint8_t> ArgBuf(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Buffer<uint8_t>>();
}
inline bool ArgIsNullish(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() <= i || info[i].IsNull() || info[i].IsUndefined();
}

// Adds `fn` to `exports` under `name`.
inline void Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback fn) {
  exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace anycastd
