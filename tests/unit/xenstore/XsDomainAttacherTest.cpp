// INTRODUCE / RELEASE with real attach logic against a fake hypervisor: ring
// pages on the heap, event channel ports as plain eventfds, and the daemon's
// poll loop (XsSocketServer::runOnce) driving the guests' rings.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "XsTestClient.h"
#include "smartvm/dom0/xenstore/XsDomainAttacher.h"

namespace smartvm::dom0::xenstore::test {
namespace {

/// A hypervisor that maps heap pages and hands out eventfd pairs, and records what was asked.
class FakeGuestAccess final : public XsGuestAccess {
 public:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::map<uint32_t, std::unique_ptr<char, Free>> pages;
  std::set<uint32_t> mapFails, bindFails;
  std::vector<uint32_t> unmapped, closed;
  std::map<uint32_t, uint32_t> boundRemote;  // local port -> guest port
  std::map<uint32_t, int> notifyOf, doorbellOf;  // domid -> the fds (owned by the attacher)
  std::map<uint32_t, XsDomainState> states;
  int domExcNotify = -1;
  bool domExcFails = false;

  xenstore_domain_interface* intf(uint32_t domid) {
    return reinterpret_cast<xenstore_domain_interface*>(pages.at(domid).get());
  }

  Result<XsRingPage> mapRing(uint32_t domid) override {
    if (mapFails.count(domid) != 0) return error(EINVAL, "GNTST_bad_gntref");
    auto& page = pages[domid];
    if (!page) page.reset(static_cast<char*>(std::memset(std::aligned_alloc(4096, 4096), 0, 4096)));
    return XsRingPage{page.get(), domid + 100};
  }
  void unmapRing(uint32_t domid, const XsRingPage& ring) override {
    EXPECT_EQ(ring.handle, domid + 100);
    unmapped.push_back(domid);
  }
  Result<XsEventPort> bindInterdomain(uint32_t domid, uint32_t remotePort) override {
    if (bindFails.count(domid) != 0) return error(EINVAL, "port not offered to dom0");
    XsEventPort p = newPort();
    // As smartvm-hv: a new interdomain binding starts pending.
    const uint64_t one = 1;
    EXPECT_EQ(::write(p.notify.get(), &one, sizeof one), 8);
    boundRemote[p.port] = remotePort;
    notifyOf[domid] = p.notify.get();
    doorbellOf[domid] = p.doorbell.get();
    return p;
  }
  void closePort(uint32_t port) override { closed.push_back(port); }
  Result<XsEventPort> bindDomExc() override {
    if (domExcFails) return error(ECONNREFUSED, "cannot reach smartvm-hv");
    XsEventPort p = newPort();
    domExcNotify = p.notify.get();
    ++domExcBinds;
    return p;
  }
  Result<std::map<uint32_t, XsDomainState>> domainStates() override { return states; }

  // The hypervisor's connection: a socketpair whose far end hangUp() closes.
  std::vector<uint32_t> forgotten;  // ring handles let go of without a call
  int gone = 0, domExcBinds = 0;
  int hypervisorFd() const override { return near_.get(); }
  bool hypervisorHungUp() const override {
    char b = 0;
    return ::recv(near_.get(), &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  void hypervisorGone() override {
    ++gone;
    connectHypervisor();  // what the next call would do
  }
  void forgetRing(const XsRingPage& ring) override { forgotten.push_back(ring.handle); }
  void hangUp() { far_.reset(); }
  void connectHypervisor() {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    near_.reset(sv[0]);
    far_.reset(sv[1]);
  }
  FakeGuestAccess() { connectHypervisor(); }

 private:
  UniqueFd near_, far_;
  XsEventPort newPort() {
    XsEventPort p;
    p.port = nextPort_++;
    p.notify.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    p.doorbell.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    return p;
  }
  uint32_t nextPort_ = 10;
};

void kick(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), 8);
}

/// How many times the fd was written since the last take (0 if never).
uint64_t take(int fd) {
  uint64_t n = 0;
  return ::read(fd, &n, sizeof n) == 8 ? n : 0;
}

class XsDomainAttacherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint32_t d : {5u, 6u}) {
      const std::string path = "/local/domain/" + std::to_string(d);
      ASSERT_EQ(dom0_.mkdir(path), kOk);
      ASSERT_EQ(dom0_.setPerms(path, z("n" + std::to_string(d))), kOk);
    }
  }

  std::string introduce(uint32_t domid, uint32_t port = 7) {
    return dom0_.op(XS_INTRODUCE, z(std::to_string(domid)) + z("4660") + z(std::to_string(port)));
  }
  std::string release(uint32_t domid) { return dom0_.op(XS_RELEASE, z(std::to_string(domid))); }

  /// Runs the loop until nothing is ready.
  void pump() {
    for (int i = 0; i < 10; ++i) {
      auto more = loop_.runOnce(stop_.get(), 0);
      ASSERT_TRUE(more.isOk()) << more.status().toString();
      ASSERT_TRUE(*more);
    }
  }

  void guestSend(uint32_t domid, const std::string& bytes) {
    auto* i = hv_.intf(domid);
    for (char ch : bytes) i->req[MASK_XENSTORE_IDX(i->req_prod++)] = ch;
    kick(hv_.notifyOf.at(domid));
  }
  std::vector<XsMessage> guestReceive(uint32_t domid) {
    auto* i = hv_.intf(domid);
    std::string out;
    while (i->rsp_cons != i->rsp_prod) out.push_back(i->rsp[MASK_XENSTORE_IDX(i->rsp_cons++)]);
    return decode(out);
  }

  UniqueFd stop_{::eventfd(0, EFD_CLOEXEC)};
  FakeGuestAccess hv_;
  XsServerCore core_;
  XsSocketServer loop_{core_};
  XsDomainAttacher attacher_{core_, loop_, hv_};
  XsTestClient dom0_{core_, 0};
};

TEST_F(XsDomainAttacherTest, IntroduceAttachesAndAnswersTheGuestsRing) {
  ASSERT_EQ(introduce(5, 7), kOk);
  EXPECT_TRUE(attacher_.attached(5));
  EXPECT_TRUE(core_.isIntroduced(5));
  ASSERT_EQ(hv_.boundRemote.size(), 1u);
  EXPECT_EQ(hv_.boundRemote.begin()->second, 7u) << "the guest's store port is bound";
  EXPECT_EQ(hv_.intf(5)->server_features, static_cast<uint32_t>(XENSTORE_SERVER_FEATURE_ERROR));
  EXPECT_GE(loop_.watchedFdCount(), 1u);

  guestSend(5, XsMessage::encode(XS_WRITE, 21, 0, z("data/greeting") + "hello"));
  guestSend(5, XsMessage::encode(XS_READ, 22, 0, z("data/greeting")));
  pump();
  const auto replies = guestReceive(5);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].hdr.req_id, 21u);
  EXPECT_EQ(text(replies[0]), kOk);
  EXPECT_EQ(replies[1].hdr.req_id, 22u);
  EXPECT_EQ(text(replies[1]), "hello");
  EXPECT_GT(take(hv_.doorbellOf.at(5)), 0u) << "the guest is notified of its replies";
  EXPECT_EQ(dom0_.read("/local/domain/5/data/greeting"), "hello");

  // A second INTRODUCE of the same domain is idempotent and binds nothing new.
  EXPECT_EQ(introduce(5, 7), kOk);
  EXPECT_EQ(hv_.boundRemote.size(), 1u);
}

TEST_F(XsDomainAttacherTest, WatchEventsReachTheGuestWithoutAKick) {
  ASSERT_EQ(introduce(5), kOk);
  guestSend(5, XsMessage::encode(XS_WATCH, 1, 0, z("control/shutdown") + z("sd")));
  pump();
  ASSERT_EQ(guestReceive(5).size(), 2u) << "the reply and the registration event";
  take(hv_.doorbellOf.at(5));
  ASSERT_EQ(dom0_.write("/local/domain/5/control/shutdown", "poweroff"), kOk);
  const auto events = guestReceive(5);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, z("control/shutdown") + z("sd"));
  EXPECT_GT(take(hv_.doorbellOf.at(5)), 0u);
}

TEST_F(XsDomainAttacherTest, ReleaseDetachesAndFiresReleaseDomain) {
  ASSERT_EQ(introduce(5), kOk);
  const size_t watched = loop_.watchedFdCount();
  ASSERT_EQ(dom0_.watch("@releaseDomain", "rel"), kOk);
  dom0_.events();
  ASSERT_EQ(release(5), kOk);
  EXPECT_FALSE(attacher_.attached(5));
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_EQ(hv_.unmapped, std::vector<uint32_t>{5});
  EXPECT_EQ(hv_.closed.size(), 1u);
  EXPECT_EQ(loop_.watchedFdCount(), watched - 1);
  EXPECT_EQ(dom0_.events(), std::vector<std::string>{"@releaseDomain|rel"});
  EXPECT_EQ(text(dom0_.call(XS_RELEASE, z("5"))), "E:ENOENT") << "released once only";
}

TEST_F(XsDomainAttacherTest, HostileRingDisconnectsOnlyThatGuest) {
  ASSERT_EQ(introduce(5), kOk);
  ASSERT_EQ(introduce(6, 8), kOk);
  pump();
  auto* bad = hv_.intf(5);
  bad->req_prod = bad->req_cons + 5 * XENSTORE_RING_SIZE;
  kick(hv_.notifyOf.at(5));
  pump();
  EXPECT_FALSE(attacher_.attached(5)) << "the hostile guest is disconnected";
  EXPECT_EQ(bad->error, static_cast<uint32_t>(XENSTORE_ERROR_RINGIDX));
  EXPECT_EQ(hv_.unmapped, std::vector<uint32_t>{5});
  EXPECT_TRUE(core_.isIntroduced(5)) << "it stays introduced until RELEASE";

  EXPECT_TRUE(attacher_.attached(6));
  guestSend(6, XsMessage::encode(XS_READ, 3, 0, z("/local/domain/6")));
  pump();
  const auto replies = guestReceive(6);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].hdr.req_id, 3u);
  EXPECT_EQ(text(replies[0]), "");
  EXPECT_EQ(dom0_.write("/still/fine", "1"), kOk);

  // An oversized message on a ring also ends that guest's connection, only.
  xsd_sockmsg hdr{XS_READ, 9, 0, XENSTORE_PAYLOAD_MAX + 1};
  guestSend(6, std::string(reinterpret_cast<const char*>(&hdr), sizeof hdr));
  pump();
  EXPECT_FALSE(attacher_.attached(6));
  EXPECT_EQ(release(5), kOk);
  EXPECT_EQ(release(6), kOk);
}

TEST_F(XsDomainAttacherTest, IntroduceAnswersAnErrorWhenTheRingCannotBeMapped) {
  hv_.mapFails.insert(5);
  EXPECT_EQ(introduce(5), "E:EINVAL");
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_FALSE(attacher_.attached(5));
  EXPECT_TRUE(hv_.boundRemote.empty()) << "no port is bound for a ring that is not mapped";
  hv_.mapFails.clear();
  EXPECT_EQ(introduce(5), kOk) << "a later INTRODUCE may succeed";
  EXPECT_TRUE(attacher_.attached(5));
}

TEST_F(XsDomainAttacherTest, IntroduceGivesThePageBackWhenThePortCannotBeBound) {
  hv_.bindFails.insert(5);
  EXPECT_EQ(introduce(5), "E:EINVAL");
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_EQ(hv_.unmapped, std::vector<uint32_t>{5});
}

TEST_F(XsDomainAttacherTest, DomainExceptionReleasesDeadDomainsAndReportsShutdowns) {
  ASSERT_EQ(introduce(5), kOk);
  ASSERT_EQ(introduce(6, 8), kOk);
  ASSERT_GE(hv_.domExcNotify, 0) << "VIRQ_DOM_EXC is bound";
  ASSERT_EQ(dom0_.watch("@releaseDomain", "rel"), kOk);
  dom0_.events();

  hv_.states = {{0, XsDomainState::Running}, {5, XsDomainState::Running}, {6, XsDomainState::ShutDown}};
  kick(hv_.domExcNotify);
  pump();
  EXPECT_TRUE(attacher_.attached(6)) << "a shut-down domain stays until it dies";
  EXPECT_EQ(dom0_.events(), std::vector<std::string>{"@releaseDomain|rel"});

  hv_.states.erase(5);  // destroyed
  kick(hv_.domExcNotify);
  pump();
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_FALSE(attacher_.attached(5));
  EXPECT_EQ(hv_.unmapped, std::vector<uint32_t>{5});
  EXPECT_EQ(dom0_.events(), std::vector<std::string>{"@releaseDomain|rel"});

  hv_.states[6] = XsDomainState::Dying;
  kick(hv_.domExcNotify);
  pump();
  EXPECT_FALSE(core_.isIntroduced(6));
  EXPECT_EQ(dom0_.events(), std::vector<std::string>{"@releaseDomain|rel"});
}

// smartvm-hv went away (its connection hung up): its domains went with it.
// They are released without a port closed or a grant unmapped through the
// next smartvm-hv (whose numbers mean other things), and a new domain that
// reuses a domid is attached afresh rather than found "introduced" already.
TEST_F(XsDomainAttacherTest, AHypervisorThatWentAwayTakesItsDomainsAndAReusedDomidIsServedAfresh) {
  ASSERT_EQ(introduce(5), kOk);
  ASSERT_EQ(introduce(6, 8), kOk);
  ASSERT_EQ(hv_.domExcBinds, 1);
  ASSERT_EQ(dom0_.watch("@releaseDomain", "rel"), kOk);
  dom0_.events();
  const size_t watched = loop_.watchedFdCount();

  pump();
  EXPECT_TRUE(attacher_.attached(5)) << "a live connection is not taken for a hang-up";
  hv_.hangUp();
  pump();
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_FALSE(core_.isIntroduced(6));
  EXPECT_FALSE(attacher_.attached(6));
  EXPECT_TRUE(hv_.closed.empty()) << "ports of the old smartvm-hv are not closed through the new one";
  EXPECT_TRUE(hv_.unmapped.empty());
  EXPECT_EQ(hv_.forgotten, (std::vector<uint32_t>{105, 106}));
  EXPECT_EQ(hv_.gone, 1);
  EXPECT_EQ(dom0_.events(), (std::vector<std::string>{"@releaseDomain|rel", "@releaseDomain|rel"}));
  EXPECT_LT(loop_.watchedFdCount(), watched - 3) << "guest ports, VIRQ_DOM_EXC and the connection unwatched";

  // The new smartvm-hv starts its domids again.
  ASSERT_EQ(introduce(5, 9), kOk);
  EXPECT_TRUE(attacher_.attached(5));
  EXPECT_EQ(hv_.domExcBinds, 2) << "VIRQ_DOM_EXC bound on the new smartvm-hv";
  guestSend(5, XsMessage::encode(XS_READ, 31, 0, z("name")));
  pump();
  const auto replies = guestReceive(5);
  ASSERT_EQ(replies.size(), 1u) << "the new domain's ring is served";
  EXPECT_EQ(replies[0].hdr.req_id, 31u);
  hv_.hangUp();  // and a second restart is noticed too
  pump();
  EXPECT_FALSE(core_.isIntroduced(5));
  EXPECT_EQ(hv_.gone, 2);
}

TEST(XsDomainAttacherNoHvTest, VirqBindingIsRetriedOnIntroduce) {
  FakeGuestAccess hv;
  hv.domExcFails = true;
  XsServerCore core;
  XsSocketServer loop(core);
  XsDomainAttacher attacher(core, loop, hv);
  EXPECT_FALSE(attacher.bindDomExc().isOk());
  XsTestClient dom0(core, 0);
  hv.domExcFails = false;
  EXPECT_EQ(dom0.op(XS_INTRODUCE, z("5") + z("1") + z("3")), kOk);
  EXPECT_GE(hv.domExcNotify, 0);
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
