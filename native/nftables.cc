// nftables inside a network namespace, in-process, through libnftables.
//
//   ip netns exec web nft -f rules.nft     nftApply(nsFd, text)
//   ip netns exec web nft list ruleset     nftApply(nsFd, "list ruleset")
//
// libnftables parses the same text `nft -f` reads and commits it as ONE
// netlink batch: either every command in the buffer applies or none does.
// That is what makes "generate text, apply once" atomic.
//
// A libnftables context keeps the netlink socket it opened first, in the
// namespace of the thread that opened it (checked: a context made in A whose
// thread then moved to B still wrote into A). So each call creates its
// context on a throwaway thread inside the target namespace and frees it
// there.
//
// nft reports errors as text ("Error: Could not process rule: No such file or
// directory" plus the offending line); the errno is recovered from that text
// so callers can still test e.code === 'ENOENT'.
#include <nftables/libnftables.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "args.h"
#include "in_netns.h"
#include "nft_run.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

// nft prints strerror(errno) after "Could not process rule: "; find which.
int ErrnoFromNftText(const std::string& text) {
  for (int e = 1; e < 134; ++e) {
    const char* s = std::strerror(e);
    if (s && *s && text.find(std::string(": ") + s) != std::string::npos) return e;
  }
  return EINVAL;  // a syntax error: nft rejected the text before the kernel saw it
}

}  // namespace

std::string NftRun(const std::string& text, bool json, bool handles) {
  std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) ThrowErr(ENOMEM, "nft_ctx_new", "nftApply");
  unsigned flags = 0;
  if (json) flags |= NFT_CTX_OUTPUT_JSON;
  if (handles) flags |= NFT_CTX_OUTPUT_HANDLE;
  nft_ctx_output_set_flags(ctx.get(), flags);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  int rc = nft_run_cmd_from_buffer(ctx.get(), text.c_str());
  if (rc != 0) {
    const char* err = nft_ctx_get_error_buffer(ctx.get());
    std::string msg = err ? err : "";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    KernelError e;
    e.err = ErrnoFromNftText(msg);
    e.syscall = "nft_run_cmd_from_buffer";
    e.op = "nft";
    e.extack = msg;
    throw e;
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  return std::string(out ? out : "");
}

// nftApply(nsFd, text, {json?, handles?}) -> what nft printed (for list commands)
Napi::Value NftApplyVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  std::string text = ArgString(info, 1, "text");
  Napi::Object o = ArgObject(info, 2);
  bool json = OptBool(o, "json").value_or(false);
  bool handles = OptBool(o, "handles").value_or(false);
  return Task<std::string>::Queue(
      info.Env(), "nftApply",
      [nsfd, text, json, handles] {
        return RunInNetns(nsfd, "nftApply", [&] { return NftRun(text, json, handles); });
      },
      [](Napi::Env env, std::string& s) { return Napi::String::New(env, s); });
}

}  // namespace nsnet
