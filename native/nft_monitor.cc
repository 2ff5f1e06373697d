// Watching nftables change, as `nft monitor` does:
//
//   ip netns exec web nft monitor            nftMonitor(nsFd, onEvents)
//
// The kernel multicasts every committed change (table, chain, rule, set,
// element added or deleted, then NEWGEN closing the transaction) to the
// netlink group NFNLGRP_NFTABLES of the namespace where it happened. A
// NETLINK_NETFILTER socket opened inside that namespace (on a throwaway
// thread, in_netns.h) and subscribed with NETLINK_ADD_MEMBERSHIP hears them,
// and only them: events are per namespace.
//
// A dedicated reader thread (which never changes namespace) polls the socket
// and an eventfd; it drains what is queued, turns each message into a small
// event, and hands the batch to JavaScript through a thread-safe function.
// If the socket's receive buffer overflows the kernel drops messages and the
// next recv fails with ENOBUFS: that becomes an event { type: 'overrun' }, so
// the consumer re-checks everything instead of missing a flush.
//
// The handle: close() wakes the reader through the eventfd, joins it, closes
// both fds and releases the thread-safe function; events still queued for the
// JS thread are dropped. The watcher does not keep the event loop alive
// (the thread-safe function starts unreferenced); ref() changes that, unref()
// undoes it, as for Node's timers and sockets.
#include <poll.h>
#include <sys/eventfd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "in_netns.h"
#include "nfnl.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct Event {
  std::string type;
  uint8_t family = 0;
  uint16_t msg = 0;  // NFT_MSG_*, kept for 'other'
  std::optional<std::string> table;
  std::optional<uint32_t> gen, pid;
  std::optional<std::string> comm;
};
using Batch = std::vector<Event>;

// An event that is about the watcher, not about a table: "overrun", "error".
Event Marker(const char* type) {
  Event e;
  e.type = type;
  return e;
}

const char* TypeName(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWTABLE: return "newtable";
    case NFT_MSG_DELTABLE: return "deltable";
    case NFT_MSG_NEWCHAIN: return "newchain";
    case NFT_MSG_DELCHAIN: return "delchain";
    case NFT_MSG_NEWRULE: return "newrule";
    case NFT_MSG_DELRULE: return "delrule";
    case NFT_MSG_NEWSET: return "newset";
    case NFT_MSG_DELSET: return "delset";
    case NFT_MSG_NEWSETELEM: return "newsetelem";
    case NFT_MSG_DELSETELEM: return "delsetelem";
    case NFT_MSG_NEWGEN: return "newgen";
    default: return "other";
  }
}

// Attribute 1 of every nftables object message names its table
// (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
// NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE); NEWGEN's
// attributes are the generation and who committed it.
bool ToEvent(const nlmsghdr* h, Event& e) {
  if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) return false;
  e.msg = h->nlmsg_type & 0xff;
  e.type = TypeName(e.msg);
  std::vector<const rtattr*> tb;
  if (!NfnlAttrs(h, tb, 3, &e.family)) return false;
  if (e.msg == NFT_MSG_NEWGEN) {
    if (tb[NFTA_GEN_ID]) e.gen = AttrBe32(tb[NFTA_GEN_ID]);
    if (tb[NFTA_GEN_PROC_PID]) e.pid = AttrBe32(tb[NFTA_GEN_PROC_PID]);
    if (tb[NFTA_GEN_PROC_NAME]) e.comm = AttrStr(tb[NFTA_GEN_PROC_NAME]);
  } else if (tb[1]) {
    e.table = AttrStr(tb[1]);
  }
  return true;
}

class Monitor;
void CallJs(Napi::Env env, Napi::Function cb, Monitor* m, Batch* b);
using Tsfn = Napi::TypedThreadSafeFunction<Monitor, Batch, CallJs>;

class Monitor {
 public:
  Monitor(UniqueFd sock, UniqueFd wake) : sock_(std::move(sock)), wake_(std::move(wake)) {}
  ~Monitor() { Stop(); }

  void Start(Tsfn tsfn) {
    tsfn_ = tsfn;
    live_ = true;
    reader_ = std::thread([this] { Loop(); });
  }

  // JS thread. Idempotent.
  void Close() {
    closed_ = true;
    Stop();
    if (live_) {
      live_ = false;
      tsfn_.Release();  // the finalizer runs once the queue is drained (CallJs drops it)
    }
  }
  // The thread-safe function is gone (released, or the environment is being torn down).
  void Finalized() {
    closed_ = true;
    live_ = false;
    Stop();
  }
  void Ref(Napi::Env env) { if (live_) tsfn_.Ref(env); }
  void Unref(Napi::Env env) { if (live_) tsfn_.Unref(env); }
  bool Closed() const { return closed_; }

 private:
  // Wakes the reader, waits for it, closes the fds. The reader never blocks
  // anywhere but poll (NonBlockingCall on an unbounded queue), so this is prompt.
  void Stop() {
    if (reader_.joinable()) {
      uint64_t one = 1;
      ssize_t n;
      do n = ::write(wake_.Get(), &one, sizeof one); while (n < 0 && errno == EINTR);
      reader_.join();
    }
    sock_.Reset();
    wake_.Reset();
  }

  void Loop() {
    // Notifications come in skbs of up to a page or so (NLMSG_GOODSIZE); 64 KiB holds any one.
    std::vector<uint8_t> buf(64 * 1024);
    for (;;) {
      pollfd p[2] = {{sock_.Get(), POLLIN, 0}, {wake_.Get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Deliver(new Batch{Marker("error")});
        return;
      }
      if (p[1].revents) return;
      auto* batch = new Batch;
      // Drain what is queued now into one batch (bounded, so a flood still trickles out).
      for (int i = 0; i < 256; ++i) {
        ssize_t n = ::recv(sock_.Get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == ENOBUFS) {  // the kernel dropped messages; the socket stays usable
            batch->push_back(Marker("overrun"));
            continue;
          }
          batch->push_back(Marker("error"));
          Deliver(batch);
          return;
        }
        int len = static_cast<int>(n);
        for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
          Event e;
          if (ToEvent(h, e)) batch->push_back(std::move(e));
        }
      }
      if (batch->empty()) {
        delete batch;
        continue;
      }
      if (!Deliver(batch)) return;
    }
  }

  bool Deliver(Batch* b) {
    if (tsfn_.NonBlockingCall(b) != napi_ok) {  // napi_closing: the environment is going away
      delete b;
      return false;
    }
    return true;
  }

  UniqueFd sock_, wake_;
  Tsfn tsfn_;
  std::thread reader_;
  bool live_ = false;               // JS thread only
  std::atomic<bool> closed_{false};
};

Napi::Value EventToJs(Napi::Env env, const Event& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", e.type);
  if (e.type == "overrun" || e.type == "error") return o;
  o.Set("family", NftFamilyName(e.family));
  if (e.table) o.Set("table", *e.table);
  if (e.type == "other") o.Set("msg", static_cast<double>(e.msg));
  if (e.gen) o.Set("gen", static_cast<double>(*e.gen));
  if (e.pid) o.Set("pid", static_cast<double>(*e.pid));
  if (e.comm) o.Set("comm", *e.comm);
  return o;
}

// JS thread. env is null when the environment is torn down with batches still
// queued: then only free them.
void CallJs(Napi::Env env, Napi::Function cb, Monitor* m, Batch* b) {
  std::unique_ptr<Batch> own(b);
  if (env == nullptr || !b || m->Closed()) return;
  cb.Call({ToArray(env, *b, EventToJs)});
}

struct Opened {
  UniqueFd sock, wake;
};

// On the namespace's thread: the socket, subscribed, with room for a burst.
Opened Open(int rcvbuf) {
  const char* op = "nftMonitor";
  Opened o;
  o.sock = NfnlOpen(op, SOCK_NONBLOCK);
  // SO_RCVBUFFORCE passes net.core.rmem_max (we are root); SO_RCVBUF otherwise.
  if (::setsockopt(o.sock.Get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    ::setsockopt(o.sock.Get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  unsigned group = NFNLGRP_NFTABLES;
  if (::setsockopt(o.sock.Get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
    ThrowErrno("setsockopt", op);
  o.wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!o.wake.Valid()) ThrowErrno("eventfd", op);
  return o;
}

}  // namespace

// nftMonitor(nsFd, onEvents, {rcvbuf?}) -> { close(), ref(), unref() }
Napi::Value NftMonitorVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = ArgFd(info, 0, "nsFd");
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "onEvents must be a function");
  Napi::Object o = ArgObject(info, 2);
  int rcvbuf = static_cast<int>(OptInt(o, "rcvbuf", 1024, 1 << 30).value_or(4 << 20));
  // Kept alive (on the JS thread) until the socket is open.
  auto cb = std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[1].As<Napi::Function>()));
  return Task<Opened>::Queue(
      env, "nftMonitor",
      [nsfd, rcvbuf] { return RunInNetns(nsfd, "nftMonitor", [&] { return Open(rcvbuf); }); },
      [cb](Napi::Env env, Opened& opened) -> Napi::Value {
        auto m = std::make_shared<Monitor>(std::move(opened.sock), std::move(opened.wake));
        // The finalizer owns one reference, the handle's methods the others:
        // the Monitor outlives both the reader and every queued call.
        auto* keep = new std::shared_ptr<Monitor>(m);
        Tsfn tsfn = Tsfn::New(env, cb->Value(), "nftMonitor", 0, 1, m.get(),
                              [](Napi::Env, std::shared_ptr<Monitor>* k, Monitor*) {
                                (*k)->Finalized();
                                delete k;
                              },
                              keep);
        tsfn.Unref(env);
        m->Start(tsfn);
        Napi::Object h = Napi::Object::New(env);
        h.Set("close", Napi::Function::New(env, [m](const Napi::CallbackInfo&) { m->Close(); }, "close"));
        h.Set("ref", Napi::Function::New(env, [m](const Napi::CallbackInfo& i) { m->Ref(i.Env()); return i.This(); }, "ref"));
        h.Set("unref", Napi::Function::New(env, [m](const Napi::CallbackInfo& i) { m->Unref(i.Env()); return i.This(); }, "unref"));
        return h;
      });
}

}  // namespace nsnet
