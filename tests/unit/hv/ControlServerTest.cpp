// ControlServer::handle: the whole control protocol without a socket.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "HvTestUtil.h"
#include "smartvm/MessageSocket.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
namespace pb = smartvm::control::v1;
using smartvm::v1::DomainState;

class ControlServerTest : public ::testing::Test {
 protected:
  pb::Response createDomain(const std::string& name, uint64_t id = 1) {
    pb::Request req;
    req.set_id(id);
    *req.mutable_create()->mutable_config() = test::makeConfig(name, kernel.path(), 32);
    return server.handle(req);
  }
  pb::Request domainOp(uint64_t id, uint32_t domid, pb::DomainOp* (pb::Request::*field)()) {
    pb::Request req;
    req.set_id(id);
    (req.*field)()->set_domid(domid);
    return req;
  }

  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  std::shared_ptr<LogRingSink> ring = std::make_shared<LogRingSink>();
  ControlServer server{hv, "fake kvm", ring};
};

TEST_F(ControlServerTest, NoOpIsEinvalAndIdEchoed) {
  pb::Request req;
  req.set_id(77);
  const auto r = server.handle(req);
  EXPECT_EQ(r.id(), 77u);
  EXPECT_EQ(r.error_code(), EINVAL);
  EXPECT_EQ(r.error(), "request names no operation");
  EXPECT_EQ(r.result_case(), pb::Response::RESULT_NOT_SET);
}

TEST_F(ControlServerTest, CreateGetListDestroy) {
  auto c = createDomain("web", 5);
  EXPECT_EQ(c.id(), 5u);
  ASSERT_EQ(c.error_code(), 0) << c.error();
  ASSERT_TRUE(c.has_domain());
  EXPECT_EQ(c.domain().domid(), 1u);
  EXPECT_EQ(c.domain().name(), "web");

  auto dup = createDomain("web", 6);
  EXPECT_EQ(dup.id(), 6u);
  EXPECT_EQ(dup.error_code(), EEXIST);
  EXPECT_FALSE(dup.has_domain());

  auto get = server.handle(domainOp(7, 1, &pb::Request::mutable_get));
  EXPECT_EQ(get.id(), 7u);
  EXPECT_EQ(get.error_code(), 0);
  EXPECT_EQ(get.domain().name(), "web");
  EXPECT_EQ(get.domain().memory_mib(), 32u);

  auto missing = server.handle(domainOp(8, 9, &pb::Request::mutable_get));
  EXPECT_EQ(missing.error_code(), ESRCH);

  pb::Request list;
  list.set_id(9);
  list.mutable_list();
  auto l = server.handle(list);
  EXPECT_EQ(l.id(), 9u);
  ASSERT_EQ(l.domains().domains_size(), 2);
  EXPECT_EQ(l.domains().domains(0).name(), "Domain-0");
  EXPECT_EQ(l.domains().domains(1).domid(), 1u);

  auto d = server.handle(domainOp(10, 1, &pb::Request::mutable_destroy));
  EXPECT_EQ(d.id(), 10u);
  EXPECT_EQ(d.error_code(), 0);
  EXPECT_EQ(d.result_case(), pb::Response::RESULT_NOT_SET);
  auto again = server.handle(domainOp(11, 1, &pb::Request::mutable_destroy));
  EXPECT_EQ(again.error_code(), ESRCH);
  EXPECT_EQ(server.handle(domainOp(12, 0, &pb::Request::mutable_destroy)).error_code(), EINVAL);
}

TEST_F(ControlServerTest, CreateInvalidConfig) {
  pb::Request req;
  req.set_id(3);
  auto* cfg = req.mutable_create()->mutable_config();
  *cfg = test::makeConfig("x", "relative/kernel", 32);
  auto r = server.handle(req);
  EXPECT_EQ(r.id(), 3u);
  EXPECT_EQ(r.error_code(), EINVAL);
  EXPECT_EQ(r.error(), "kernel must be an absolute path");
}

TEST_F(ControlServerTest, PauseUnpauseReportDomain) {
  ASSERT_EQ(createDomain("p").error_code(), 0);
  auto un = server.handle(domainOp(2, 1, &pb::Request::mutable_unpause));
  EXPECT_EQ(un.error_code(), EINVAL);
  EXPECT_NE(un.error().find("not paused"), std::string::npos);
  auto p = server.handle(domainOp(3, 1, &pb::Request::mutable_pause));
  EXPECT_EQ(p.id(), 3u);
  EXPECT_EQ(p.error_code(), 0);
  EXPECT_EQ(p.domain().state(), DomainState::DOMAIN_STATE_PAUSED);
  auto u = server.handle(domainOp(4, 1, &pb::Request::mutable_unpause));
  EXPECT_EQ(u.error_code(), 0);
  EXPECT_EQ(u.domain().domid(), 1u);
  EXPECT_EQ(server.handle(domainOp(5, 0, &pb::Request::mutable_pause)).error_code(), EINVAL);
  EXPECT_EQ(server.handle(domainOp(6, 33, &pb::Request::mutable_pause)).error_code(), ESRCH);
}

TEST_F(ControlServerTest, ShutdownAndWait) {
  auto c = createDomain("s");
  ASSERT_EQ(c.error_code(), 0);
  pb::Request soft;
  soft.set_id(2);
  soft.mutable_shutdown()->set_domid(1);
  soft.mutable_shutdown()->set_reason(smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  auto s = server.handle(soft);
  EXPECT_EQ(s.id(), 2u);
  EXPECT_EQ(s.error_code(), EOPNOTSUPP);
  EXPECT_NE(s.error().find("shutdown -F"), std::string::npos) << s.error();

  pb::Request wait;
  wait.set_id(3);
  wait.mutable_wait()->set_domid(1);
  wait.mutable_wait()->set_timeout_ms(20);
  auto w = server.handle(wait);
  EXPECT_EQ(w.id(), 3u);
  EXPECT_EQ(w.error_code(), ETIMEDOUT);

  soft.mutable_shutdown()->set_force(true);
  soft.set_id(4);
  auto f = server.handle(soft);
  EXPECT_EQ(f.error_code(), 0) << f.error();
  wait.mutable_wait()->set_timeout_ms(5000);
  wait.set_id(5);
  auto w2 = server.handle(wait);
  EXPECT_EQ(w2.id(), 5u);
  EXPECT_EQ(w2.error_code(), 0);
  // Default on_poweroff is destroy: eventually gone.
  EXPECT_TRUE(test::waitUntil([&] { return hv.find(1) == nullptr; }));
}

TEST_F(ControlServerTest, ConsoleRead) {
  ASSERT_EQ(createDomain("con").error_code(), 0);
  hv.find(1)->console().append("0123456789", 10);
  pb::Request req;
  req.set_id(2);
  req.mutable_console_read()->set_domid(1);
  req.mutable_console_read()->set_offset(3);
  req.mutable_console_read()->set_max_bytes(4);
  auto r = server.handle(req);
  EXPECT_EQ(r.id(), 2u);
  ASSERT_TRUE(r.has_console());
  EXPECT_EQ(r.console().data(), "3456");
  EXPECT_EQ(r.console().next_offset(), 7u);
  EXPECT_EQ(r.console().first_offset(), 0u);
  EXPECT_FALSE(r.console().domain_gone());

  ASSERT_TRUE(hv.destroy(1).isOk());
  req.mutable_console_read()->set_offset(7);
  req.mutable_console_read()->set_max_bytes(0);
  req.mutable_console_read()->set_wait_ms(10000);
  const auto t0 = std::chrono::steady_clock::now();
  auto gone = server.handle(req);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "a closed console never waits";
  EXPECT_EQ(gone.console().data(), "789");
  EXPECT_EQ(gone.console().next_offset(), 10u);
  EXPECT_TRUE(gone.console().domain_gone());

  req.mutable_console_read()->set_domid(50);
  EXPECT_EQ(server.handle(req).error_code(), ESRCH);
}

TEST_F(ControlServerTest, HostInfoAndHvLog) {
  pb::Request hi;
  hi.set_id(1);
  hi.mutable_host_info();
  auto h = server.handle(hi);
  EXPECT_EQ(h.id(), 1u);
  EXPECT_EQ(h.host().kvm_info(), "fake kvm");
  EXPECT_EQ(h.host().xen_version(), "4.17");
  EXPECT_EQ(h.host().nr_domains(), 1u);

  spdlog::logger log("hvtest", ring);
  log.set_pattern("%v");
  log.info("ring line one");
  pb::Request lg;
  lg.set_id(2);
  lg.mutable_hv_log()->set_clear(true);
  auto t = server.handle(lg);
  EXPECT_EQ(t.id(), 2u);
  EXPECT_NE(t.text().find("ring line one"), std::string::npos) << t.text();
  lg.mutable_hv_log()->set_clear(false);
  EXPECT_EQ(server.handle(lg).text(), "") << "cleared by the previous read";

  ControlServer noLog{hv, "x", nullptr};
  EXPECT_EQ(noLog.handle(lg).text(), "");
}

}  // namespace
}  // namespace smartvm::hv

namespace smartvm::hv {
namespace {

// dom0 daemons open one connection per call: finished connection threads must
// be joined as the server goes, not kept until it stops.
TEST(ControlServerSocket, FinishedConnectionThreadsAreReaped) {
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  ControlServer server{hv, "fake kvm", nullptr};
  char dir[] = "/tmp/smartvm-ctl-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/hv.sock";
  ASSERT_TRUE(server.start(path).isOk());
  auto call = [&](uint64_t id) {
    auto sock = MessageSocket::connectUnix(path);
    ASSERT_TRUE(sock.isOk()) << sock.status().toString();
    smartvm::control::v1::Request req;
    req.set_id(id);
    req.mutable_list();
    ASSERT_TRUE(sock->send(req).isOk());
    smartvm::control::v1::Response resp;
    ASSERT_TRUE(sock->recv(resp).isOk());
    EXPECT_EQ(resp.id(), id);
    EXPECT_EQ(resp.domains().domains_size(), 1) << "Domain-0 only";
  };
  for (uint64_t i = 0; i < 50; ++i) call(i);
  // Each accept reaps the threads that have finished by then; a thread that
  // lags a little is reaped by a later accept. Unreaped, 50 would be tracked.
  for (uint64_t i = 50; i < 100 && server.trackedWorkers() > 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    call(i);
  }
  EXPECT_LE(server.trackedWorkers(), 2u);
  server.stop();
  EXPECT_EQ(server.trackedWorkers(), 0u);
  rmdir(dir);
}

}  // namespace
}  // namespace smartvm::hv
