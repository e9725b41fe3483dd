// libbpf objects, programs, maps and BPF_PROG_TEST_RUN, as handles, fds and buffers.
// Objects live in a handle table (an int for JavaScript), so a stale handle is an error, not a crash.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "errors.h"
#include "util.h"

namespace anycastd {

namespace {

constexpr size_t kLoadLogTailBytes = 8 * 1024;  // verifier log kept in a load error
constexpr const char* kRodataSection = ".rodata";

std::unordered_map<uint32_t, bpf_object*> g_objects;
uint32_t g_next_handle = 1;

bpf_object* ObjectOf(const Napi::CallbackInfo& info) {
  auto it = g_objects.find(ArgU32(info, 0));
  if (it == g_objects.end()) {
    ThrowSys(info.Env(), EBADF, "bpf_object handle");
    return nullptr;
  }
  return it->second;
}

bool EndsWith(const char* s, const char* suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

bpf_map* RodataMap(bpf_object* obj) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__is_internal(map) && EndsWith(bpf_map__name(map), kRodataSection)) return map;
  }
  return nullptr;
}

// objOpen(path) -> handle
Napi::Value ObjOpen(const Napi::CallbackInfo& info) {
  std::string path = ArgStr(info, 0);
  LibbpfLogReset();
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  long err = libbpf_get_error(obj);
  if (err != 0 || obj == nullptr) return ThrowSys(info.Env(), err ? -err : EIO, "bpf_object__open_file", LibbpfLogTail(1024));
  uint32_t handle = g_next_handle++;
  g_objects[handle] = obj;
  return Napi::Number::New(info.Env(), handle);
}

// objRodataVar(handle, name) -> { offset, size } | null
Napi::Value ObjRodataVar(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  std::string name = ArgStr(info, 1);
  btf* b = bpf_object__btf(obj);
  if (b == nullptr || RodataMap(obj) == nullptr) return info.Env().Null();
  int sec_id = btf__find_by_name_kind(b, kRodataSection, BTF_KIND_DATASEC);
  if (sec_id < 0) return info.Env().Null();
  const btf_type* sec = btf__type_by_id(b, sec_id);
  const btf_var_secinfo* vsi = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
    const btf_type* var = btf__type_by_id(b, vsi->type);
    if (name == btf__name_by_offset(b, var->name_off)) {
      Napi::Object out = Napi::Object::New(info.Env());
      out.Set("offset", vsi->offset);
      out.Set("size", vsi->size);
      return out;
    }
  }
  return info.Env().Null();
}

// objWriteRodata(handle, offset, bytes): patch the .rodata initial value (before load).
Napi::Value ObjWriteRodata(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  uint32_t offset = ArgU32(info, 1);
  Napi::Buffer<uint8_t> bytes = ArgBuf(info, 2);
  bpf_map* map = RodataMap(obj);
  if (map == nullptr) return ThrowSys(info.Env(), ENOENT, "bpf_object__find_map(.rodata)");
  size_t size = 0;
  const void* current = bpf_map__initial_value(map, &size);
  if (current == nullptr || offset + bytes.Length() > size) return ThrowSys(info.Env(), ERANGE, "bpf_map__initial_value");
  std::vector<uint8_t> image(static_cast<const uint8_t*>(current), static_cast<const uint8_t*>(current) + size);
  memcpy(image.data() + offset, bytes.Data(), bytes.Length());
  int ret = bpf_map__set_initial_value(map, image.data(), image.size());
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_map__set_initial_value", LibbpfLogTail(1024));
  return info.Env().Undefined();
}

// objReuseMap(handle, mapName, pinPath) -> false when the object has no such map
Napi::Value ObjReuseMap(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  bpf_map* map = bpf_object__find_map_by_name(obj, ArgStr(info, 1).c_str());
  if (map == nullptr) return Napi::Boolean::New(info.Env(), false);
  std::string path = ArgStr(info, 2);
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return ThrowSys(info.Env(), ErrnoOf(fd), "bpf_obj_get");
  LibbpfLogReset();
  int ret = bpf_map__reuse_fd(map, fd);  // dups fd
  close(fd);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_map__reuse_fd", LibbpfLogTail(1024));
  return Napi::Boolean::New(info.Env(), true);
}

// A libbpf setter of one map of an object, before load: setter(map, value) from argument 2; false when
// the object has no such map.
static Napi::Value SetMapAttr(const Napi::CallbackInfo& info, int (*setter)(bpf_map*, __u32),
                              const char* what) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  bpf_map* map = bpf_object__find_map_by_name(obj, ArgStr(info, 1).c_str());
  if (map == nullptr) return Napi::Boolean::New(info.Env(), false);
  int ret = setter(map, ArgU32(info, 2));
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), what);
  return Napi::Boolean::New(info.Env(), true);
}

// objSetMaxEntries(handle, mapName, n) -> false when the object has no such map (before load: the map is
// created with n entries; a map reused from a pin keeps the pin's)
Napi::Value ObjSetMaxEntries(const Napi::CallbackInfo& info) {
  return SetMapAttr(info, bpf_map__set_max_entries, "bpf_map__set_max_entries");
}

// objSetValueSize(handle, mapName, bytes) -> false when the object has no such map (before load: the map
// is created with values of that size; it must have no BTF value type of another size)
Napi::Value ObjSetValueSize(const Napi::CallbackInfo& info) {
  return SetMapAttr(info, bpf_map__set_value_size, "bpf_map__set_value_size");
}

// objReuseMapFd(handle, mapName, fd) -> false when the object has no such map: before load, make map
// `mapName` use an open map (another loaded object's: programs sharing maps). libbpf dups the fd.
Napi::Value ObjReuseMapFd(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  bpf_map* map = bpf_object__find_map_by_name(obj, ArgStr(info, 1).c_str());
  if (map == nullptr) return Napi::Boolean::New(info.Env(), false);
  LibbpfLogReset();
  int ret = bpf_map__reuse_fd(map, ArgInt(info, 2));
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_map__reuse_fd", LibbpfLogTail(1024));
  return Napi::Boolean::New(info.Env(), true);
}

// objAttach(handle, progName) -> fd of a new BPF link attaching the loaded program where its section
// names (tp_btf/..., fentry/...). The link lives while the fd (or a pin of it) does: libbpf's own
// handle and fd are freed, the caller owns the returned fd.
Napi::Value ObjAttach(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  std::string name = ArgStr(info, 1);
  bpf_program* prog = bpf_object__find_program_by_name(obj, name.c_str());
  if (prog == nullptr) return ThrowSys(info.Env(), ENOENT, "bpf_object__find_program_by_name");
  LibbpfLogReset();
  bpf_link* link = bpf_program__attach(prog);
  long err = libbpf_get_error(link);
  if (err != 0 || link == nullptr) return ThrowSys(info.Env(), err ? -err : EIO, "bpf_program__attach", LibbpfLogTail(1024));
  int fd = dup(bpf_link__fd(link));  // the same open file: the link lives while either fd does
  int dup_errno = errno;
  bpf_link__destroy(link);  // closes libbpf's fd only (never disconnect: that would leak it, and the link)
  if (fd < 0) return ThrowSys(info.Env(), dup_errno, "dup");
  return Napi::Number::New(info.Env(), fd);
}

// linkInfo(fd) -> { id, progId, type }
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  bpf_link_info li = {};
  uint32_t len = sizeof(li);
  int ret = bpf_obj_get_info_by_fd(ArgInt(info, 0), &li, &len);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_obj_get_info_by_fd");
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("id", li.id);
  out.Set("progId", li.prog_id);
  out.Set("type", li.type);
  return out;
}

// enableRunTimeStats() -> fd: the kernel counts every program's run time and runs (bpf_prog_info
// run_time_ns, run_cnt) while this fd is open (BPF_ENABLE_STATS, BPF_STATS_RUN_TIME).
Napi::Value EnableRunTimeStats(const Napi::CallbackInfo& info) {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) return ThrowSys(info.Env(), ErrnoOf(fd), "bpf_enable_stats");
  return Napi::Number::New(info.Env(), fd);
}

// objReadRodata(handle, offset, size) -> Buffer: a copy of the .rodata initial value's bytes (before load).
Napi::Value ObjReadRodata(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  uint32_t offset = ArgU32(info, 1);
  uint32_t want = ArgU32(info, 2);
  bpf_map* map = RodataMap(obj);
  if (map == nullptr) return ThrowSys(info.Env(), ENOENT, "bpf_object__find_map(.rodata)");
  size_t size = 0;
  const void* current = bpf_map__initial_value(map, &size);
  if (current == nullptr || static_cast<size_t>(offset) + want > size) return ThrowSys(info.Env(), ERANGE, "bpf_map__initial_value");
  return Napi::Buffer<uint8_t>::Copy(info.Env(), static_cast<const uint8_t*>(current) + offset, want);
}

// objMaps(handle) -> [{ name, type, keySize, valueSize, maxEntries, internal }]: each map's definition
// as the object declares it (before load: what load would create).
Napi::Value ObjMaps(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    Napi::Object m = Napi::Object::New(info.Env());
    m.Set("name", bpf_map__name(map));
    m.Set("type", static_cast<uint32_t>(bpf_map__type(map)));
    m.Set("keySize", bpf_map__key_size(map));
    m.Set("valueSize", bpf_map__value_size(map));
    m.Set("maxEntries", bpf_map__max_entries(map));
    m.Set("internal", bpf_map__is_internal(map));
    out.Set(i++, m);
  }
  return out;
}

// progFdById(id) -> fd of the loaded program with that id (the caller closes it)
Napi::Value ProgFdById(const Napi::CallbackInfo& info) {
  int fd = bpf_prog_get_fd_by_id(ArgU32(info, 0));
  if (fd < 0) return ThrowSys(info.Env(), ErrnoOf(fd), "bpf_prog_get_fd_by_id");
  return Napi::Number::New(info.Env(), fd);
}

// objLoad(handle); a failure carries the tail of libbpf's log (the verifier's verdict).
Napi::Value ObjLoad(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  LibbpfLogReset();
  int ret = bpf_object__load(obj);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_object__load", LibbpfLogTail(kLoadLogTailBytes));
  return info.Env().Undefined();
}

// objProgramFd(handle, name) -> fd (-1 before load) | null when absent
Napi::Value ObjProgramFd(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  bpf_program* prog = bpf_object__find_program_by_name(obj, ArgStr(info, 1).c_str());
  if (prog == nullptr) return info.Env().Null();
  return Napi::Number::New(info.Env(), bpf_program__fd(prog));
}

// objMapFd(handle, name) -> fd (-1 before load) | null when absent
Napi::Value ObjMapFd(const Napi::CallbackInfo& info) {
  bpf_object* obj = ObjectOf(info);
  if (obj == nullptr) return info.Env().Undefined();
  bpf_map* map = bpf_object__find_map_by_name(obj, ArgStr(info, 1).c_str());
  if (map == nullptr) return info.Env().Null();
  return Napi::Number::New(info.Env(), bpf_map__fd(map));
}

// objClose(handle): closes the object and every fd it owns.
Napi::Value ObjClose(const Napi::CallbackInfo& info) {
  auto it = g_objects.find(ArgU32(info, 0));
  if (it != g_objects.end()) {
    bpf_object__close(it->second);
    g_objects.erase(it);
  }
  return info.Env().Undefined();
}

// progInfo(fd) -> { id, name, type, runTimeNs, runCnt } (the last two count only while stats are on)
Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  bpf_prog_info pi = {};
  uint32_t len = sizeof(pi);
  int ret = bpf_obj_get_info_by_fd(ArgInt(info, 0), &pi, &len);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_obj_get_info_by_fd");
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("id", pi.id);
  out.Set("name", pi.name);
  out.Set("type", pi.type);
  out.Set("runTimeNs", static_cast<double>(pi.run_time_ns));
  out.Set("runCnt", static_cast<double>(pi.run_cnt));
  return out;
}

// mapInfo(fd) -> { id, name, type, keySize, valueSize, maxEntries, flags }
Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  bpf_map_info mi = {};
  uint32_t len = sizeof(mi);
  int ret = bpf_obj_get_info_by_fd(ArgInt(info, 0), &mi, &len);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_obj_get_info_by_fd");
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("id", mi.id);
  out.Set("name", mi.name);
  out.Set("type", mi.type);
  out.Set("keySize", mi.key_size);
  out.Set("valueSize", mi.value_size);
  out.Set("maxEntries", mi.max_entries);
  out.Set("flags", mi.map_flags);
  return out;
}

// objPin(fd, path): pin a program or map fd on bpffs.
Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  int ret = bpf_obj_pin(ArgInt(info, 0), ArgStr(info, 1).c_str());
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_obj_pin");
  return info.Env().Undefined();
}

// objGet(path) -> fd of a pinned object (the caller owns it).
Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  int fd = bpf_obj_get(ArgStr(info, 0).c_str());
  if (fd < 0) return ThrowSys(info.Env(), ErrnoOf(fd), "bpf_obj_get");
  return Napi::Number::New(info.Env(), fd);
}

// progTestRun(fd, data, repeat, sizeOut) -> { retval, data, durationNs }
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> data = ArgBuf(info, 1);
  std::vector<uint8_t> out(ArgU32(info, 3));
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = data.Data();
  opts.data_size_in = data.Length();
  opts.data_out = out.data();
  opts.data_size_out = out.size();
  opts.repeat = ArgInt(info, 2);
  int ret = bpf_prog_test_run_opts(ArgInt(info, 0), &opts);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_prog_test_run_opts");
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("retval", opts.retval);
  result.Set("data", Napi::Buffer<uint8_t>::Copy(info.Env(), out.data(), opts.data_size_out));
  result.Set("durationNs", opts.duration);
  return result;
}

// mapLookup(fd, key, out) -> false when absent; the value is written into `out` (sized by the caller,
// so no Buffer is allocated here: the syscall already costs microseconds on a mitigated guest).
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  int ret = bpf_map_lookup_elem(ArgInt(info, 0), ArgBuf(info, 1).Data(), ArgBuf(info, 2).Data());
  if (ret != 0) {
    int err = ErrnoOf(ret);
    if (err == ENOENT) return Napi::Boolean::New(info.Env(), false);
    return ThrowSys(info.Env(), err, "bpf_map_lookup_elem");
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapUpdate(fd, key, value, flags)
Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int ret = bpf_map_update_elem(ArgInt(info, 0), ArgBuf(info, 1).Data(), ArgBuf(info, 2).Data(), ArgU32(info, 3));
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_map_update_elem");
  return info.Env().Undefined();
}

// mapDelete(fd, key) -> false when the key was absent
Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int ret = bpf_map_delete_elem(ArgInt(info, 0), ArgBuf(info, 1).Data());
  if (ret != 0) {
    int err = ErrnoOf(ret);
    if (err == ENOENT) return Napi::Boolean::New(info.Env(), false);
    return ThrowSys(info.Env(), err, "bpf_map_delete_elem");
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapNextKey(fd, key | null, out) -> false at the end; the next key is written into `out`.
Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  const void* key = ArgIsNullish(info, 1) ? nullptr : ArgBuf(info, 1).Data();
  int ret = bpf_map_get_next_key(ArgInt(info, 0), key, ArgBuf(info, 2).Data());
  if (ret != 0) {
    int err = ErrnoOf(ret);
    if (err == ENOENT) return Napi::Boolean::New(info.Env(), false);
    return ThrowSys(info.Env(), err, "bpf_map_get_next_key");
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapUpdateBatch(fd, keys, values, count, flags) -> count written; keys/values are concatenated.
Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  uint32_t count = ArgU32(info, 3);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = ArgU32(info, 4);
  int ret = bpf_map_update_batch(ArgInt(info, 0), ArgBuf(info, 1).Data(), ArgBuf(info, 2).Data(), &count, &opts);
  if (ret != 0) return ThrowSys(info.Env(), ErrnoOf(ret), "bpf_map_update_batch");
  return Napi::Number::New(info.Env(), count);
}

// mapLookupBatch(fd, inToken | null, outToken, keys, values, count) -> { count, done }
// One BPF_MAP_LOOKUP_BATCH step: up to `count` entries into `keys`/`values` (concatenated; per-CPU values
// in the nCPU * roundup8 layout), the cursor to resume from into `outToken` (null `inToken`: from the
// start; in and out may be one buffer). Tokens must hold max(keySize, 4) bytes: a hash map's cursor is a
// u32 bucket index, other maps' a key. ENOENT is the end of the walk (with the last entries counted), not
// an error. ENOSPC (a hash bucket holding more than `count` entries) is thrown: grow the buffers, retry.
Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  void* in_token = ArgIsNullish(info, 1) ? nullptr : ArgBuf(info, 1).Data();
  uint32_t count = ArgU32(info, 5);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int ret = bpf_map_lookup_batch(ArgInt(info, 0), in_token, ArgBuf(info, 2).Data(), ArgBuf(info, 3).Data(),
                                 ArgBuf(info, 4).Data(), &count, &opts);
  bool done = false;
  if (ret != 0) {
    int err = ErrnoOf(ret);
    if (err != ENOENT) return ThrowSys(info.Env(), err, "bpf_map_lookup_batch");
    done = true;
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("count", count);
  out.Set("done", done);
  return out;
}

// mapCreate(type, name, keySize, valueSize, maxEntries, flags) -> fd of a new map (the caller owns it).
Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  opts.map_flags = ArgU32(info, 5);
  std::string name = ArgStr(info, 1);
  int fd = bpf_map_create(static_cast<bpf_map_type>(ArgU32(info, 0)), name.c_str(), ArgU32(info, 2), ArgU32(info, 3),
                          ArgU32(info, 4), &opts);
  if (fd < 0) return ThrowSys(info.Env(), ErrnoOf(fd), "bpf_map_create");
  return Napi::Number::New(info.Env(), fd);
}

// possibleCpus() -> number of possible CPUs (the per-CPU value count)
Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) return ThrowSys(info.Env(), ErrnoOf(n), "libbpf_num_possible_cpus");
  return Napi::Number::New(info.Env(), n);
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "objOpen", ObjOpen);
  Export(env, exports, "objRodataVar", ObjRodataVar);
  Export(env, exports, "objWriteRodata", ObjWriteRodata);
  Export(env, exports, "objReuseMap", ObjReuseMap);
  Export(env, exports, "objSetMaxEntries", ObjSetMaxEntries);
  Export(env, exports, "objSetValueSize", ObjSetValueSize);
  Export(env, exports, "objReadRodata", ObjReadRodata);
  Export(env, exports, "objReuseMapFd", ObjReuseMapFd);
  Export(env, exports, "objAttach", ObjAttach);
  Export(env, exports, "linkInfo", LinkInfo);
  Export(env, exports, "enableRunTimeStats", EnableRunTimeStats);
  Export(env, exports, "objMaps", ObjMaps);
  Export(env, exports, "progFdById", ProgFdById);
  Export(env, exports, "objLoad", ObjLoad);
  Export(env, exports, "objProgramFd", ObjProgramFd);
  Export(env, exports, "objMapFd", ObjMapFd);
  Export(env, exports, "objClose", ObjClose);
  Export(env, exports, "objPin", ObjPin);
  Export(env, exports, "objGet", ObjGet);
  Export(env, exports, "progInfo", ProgInfo);
  Export(env, exports, "progTestRun", ProgTestRun);
  Export(env, exports, "mapInfo", MapInfo);
  Export(env, exports, "mapLookup", MapLookup);
  Export(env, exports, "mapUpdate", MapUpdate);
  Export(env, exports, "mapDelete", MapDelete);
  Export(env, exports, "mapNextKey", MapNextKey);
  Export(env, exports, "mapUpdateBatch", MapUpdateBatch);
  Export(env, exports, "mapLookupBatch", MapLookupBatch);
  Export(env, exports, "mapCreate", MapCreate);
  Export(env, exports, "possibleCpus", PossibleCpus);
}

}  // namespace anycastd
