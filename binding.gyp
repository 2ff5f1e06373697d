{
  "targets": [
    {
      "target_name": "nsnet",
      "sources": [
        "native/addon.cc",
        "native/error.cc",
        "native/netns.cc",
        "native/nlsock.cc",
        "native/rtnl_link.cc",
        "native/rtnl_addr.cc",
        "native/rtnl_route.cc",
        "native/rtnl_neigh.cc",
        "native/sysctl.cc",
        "native/nftables.cc",
        "native/nft_table.cc",
        "native/nft_monitor.cc",
        "native/socket.cc",
        "native/udp_epoll.cc",
        "native/udp_serve.cc",
        "native/flock.cc",
        "native/spawn.cc",
        "native/rlimit.cc",
        "native/unix_request.cc",
        "native/peer_cred.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fexceptions"],
      "libraries": ["-lnftables", "-lpthread"]
    },
    {
      "target_name": "nsnet-supervise",
      "type": "executable",
      "sources": ["native/supervise_main.cc"],
      "cflags_cc!": ["-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "nsnet-cni",
      "type": "executable",
      "sources": ["native/cni_main.cc"],
      "cflags_cc!": ["-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
