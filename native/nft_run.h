// Running nft text with libnftables on the calling thread, in the calling
// thread's network namespace. Shared by nftApply and socketBind (which can
// apply rules in the same namespace trip as its sockets).
#pragma once

#include <string>

namespace nsnet {

// Applies `text` as one transaction; returns what nft printed. Throws
// KernelError (errno recovered from nft's message, the message as extack).
std::string NftRun(const std::string& text, bool json, bool handles);

}  // namespace nsnet
