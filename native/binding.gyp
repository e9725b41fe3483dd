# Build of the anycastd native addon: a thin node-addon-api layer over Debian's libbpf,
# rtnetlink and the socket options Node lacks. Built by `make native`.
{
  "targets": [
    {
      "target_name": "anycastd",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/bpf.cc",
        "src/xdp.cc",
        "src/sockopt.cc",
        "src/netlink.cc",
        "src/nlwatch.cc",
        "src/sys.cc",
        "src/icmp6.cc",
        "src/udp.cc",
        "src/polled.cc",
        "src/notify.cc",
        "src/tap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
