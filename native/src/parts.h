// The Init function of every part of the addon, called by addon.cc.
#pragma once
#include <napi.h>

namespace anycastd {

void InitErrors(Napi::Env env, Napi::Object exports);  // errors.cc
void InitBpf(Napi::Env env, Napi::Object exports);     // bpf.cc: objects, programs, maps, test-run
void InitXdp(Napi::Env env, Napi::Object exports);     // xdp.cc: attach, detach, query, if_nametoindex
void InitSockopt(Napi::Env env, Napi::Object exports); // sockopt.cc: TCP sockets with MD5, TTL, GTSM
void InitNetlink(Napi::Env env, Napi::Object exports);  // netlink.cc: request/reply transport
void InitNlWatch(Napi::Env env, Napi::Object exports);  // nlwatch.cc: multicast events on the event loop
void InitSys(Napi::Env env, Napi::Object exports);     // sys.cc: mount, setns, close
void InitIcmp6(Napi::Env env, Napi::Object exports);   // icmp6.cc: raw ICMPv6 (router advertisements)
void InitUdp(Napi::Env env, Napi::Object exports);     // udp.cc: UDP with received TTL (BFD, RFC 5881)
void InitNotify(Napi::Env env, Napi::Object exports);  // notify.cc: sd_notify datagrams to systemd
void InitTap(Napi::Env env, Napi::Object exports);     // tap.cc: AF_PACKET with a classic BPF filter

}  // namespace anycastd
