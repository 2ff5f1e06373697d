// An rtnetlink socket opened inside a network namespace, and the
// request/acknowledge and dump loops that talk over it.
//
// The socket keeps the namespace it was created in for its whole life, so it
// is opened once, on a throwaway thread inside the target namespace
// (in_netns.h), and then used from pool threads with no switching - the same
// idea as vishvananda/netlink's NewHandleAt.
//
// Options turned on for every socket, as iproute2 does:
//   NETLINK_EXT_ACK        the kernel explains errors in words (extack)
//   NETLINK_CAP_ACK        errors don't echo our whole request back
//   NETLINK_GET_STRICT_CHK dumps honour the filters in the request header
#pragma once

#include <linux/netlink.h>

#include <functional>

#include "fd.h"
#include "nlmsg.h"

namespace nsnet {

// Opens NETLINK_ROUTE in the calling thread's network namespace.
UniqueFd RtnlOpen();

// Sends `msg` with NLM_F_REQUEST|NLM_F_ACK and waits for the kernel's answer.
// Messages that arrive before the ACK (a GET's reply) go to `each`. A
// negative ACK throws KernelError carrying errno and the extack message.
// Requests on one fd are serialized by a per-fd lock.
void RtnlTalk(int fd, NlMsg& msg, const char* op,
              const std::function<void(const nlmsghdr*)>& each = nullptr);

// Sends `msg` with NLM_F_REQUEST|NLM_F_DUMP and calls `each` for every
// message until NLMSG_DONE. An interrupted dump (NLM_F_DUMP_INTR: the table
// changed under us) is retried from scratch a few times.
void RtnlDump(int fd, NlMsg& msg, const char* op,
              const std::function<void(const nlmsghdr*)>& each);

}  // namespace nsnet
