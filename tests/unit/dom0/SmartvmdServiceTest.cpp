// smartvmd's Toolstack service, for real over gRPC, against a fake smartvm-hv.
#include <thread>

#include "SmartvmdFixture.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using control::v1::Request;
using test::FakeHv;
using Clock = std::chrono::steady_clock;

class SmartvmdService : public test::SmartvmdFixture {
 protected:
  v1::DomainConfig config(const std::string& name) {
    v1::DomainConfig c;
    c.set_name(name);
    c.set_kernel("/boot/vmlinuz-guest");
    return c;
  }

  grpc::Status create(const v1::DomainConfig& c, v1::DomainInfo* out) {
    v1::CreateDomainRequest req;
    *req.mutable_config() = c;
    return stub_->CreateDomain(ctx().get(), req, out);
  }

  std::vector<v1::DomainInfo> list() {
    v1::ListDomainsResponse resp;
    const grpc::Status s = stub_->ListDomains(ctx().get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.domains().begin(), resp.domains().end()};
  }

  v1::ShutdownRequest shutdownRequest(const std::string& id, bool wait, bool reboot = false) {
    v1::ShutdownRequest r;
    r.mutable_domain()->set_id(id);
    r.set_wait(wait);
    r.set_reboot(reboot);
    return r;
  }

  std::vector<Request> requestsOf(Request::OpCase op) {
    std::vector<Request> out;
    for (const auto& r : hv_.requests()) {
      if (r.op_case() == op) out.push_back(r);
    }
    return out;
  }
};

TEST_F(SmartvmdService, CreateAppliesDefaultsAndListShowsIt) {
  v1::DomainInfo info;
  const grpc::Status s = create(config("web"), &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.domid(), 1u);
  EXPECT_EQ(info.name(), "web");
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING);

  const auto creates = requestsOf(Request::kCreate);
  ASSERT_EQ(creates.size(), 1u);
  const v1::DomainConfig& sent = creates[0].create().config();
  EXPECT_EQ(sent.name(), "web");
  EXPECT_EQ(sent.kernel(), "/boot/vmlinuz-guest");
  EXPECT_EQ(sent.type(), v1::DOMAIN_TYPE_PVH);
  EXPECT_EQ(sent.memory_mib(), 128u);
  EXPECT_EQ(sent.vcpus(), 1u);
  EXPECT_EQ(sent.on_poweroff(), v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(sent.on_reboot(), v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(sent.on_crash(), v1::LIFECYCLE_ACTION_DESTROY);

  const auto domains = list();
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_EQ(domains[0].domid(), 0u);
  EXPECT_EQ(domains[0].name(), "Domain-0");
  EXPECT_EQ(domains[1].domid(), 1u);
  EXPECT_EQ(domains[1].name(), "web");
  EXPECT_EQ(domains[1].memory_mib(), 128u);
}

TEST_F(SmartvmdService, CreatePausedStartsPaused) {
  v1::DomainConfig c = config("held");
  c.set_start_paused(true);
  c.set_memory_mib(64);
  c.set_vcpus(4);
  v1::DomainInfo info;
  ASSERT_TRUE(create(c, &info).ok());
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(info.memory_mib(), 64u);
  EXPECT_EQ(info.vcpus(), 4u);
}

TEST_F(SmartvmdService, CreateRefusesBadConfigsBeforeTheHypervisor) {
  const std::pair<std::function<void(v1::DomainConfig&)>, std::string> cases[] = {
      {[](v1::DomainConfig& c) { c.set_name("bad name"); },
       "name: 'bad name' is not a valid name (use A-Z a-z 0-9 _ . -)"},
      {[](v1::DomainConfig& c) { c.set_name(""); }, "name: the name is empty"},
      {[](v1::DomainConfig& c) { c.set_kernel("vmlinuz"); }, "kernel: 'vmlinuz' is not an absolute path"},
      {[](v1::DomainConfig& c) { c.set_kernel(""); }, "kernel: a path is required"},
      {[](v1::DomainConfig& c) { c.set_ramdisk("initrd"); }, "ramdisk: 'initrd' is not an absolute path"},
      {[](v1::DomainConfig& c) { c.set_vcpus(500); }, "vcpus: 500 is out of range (1..128)"},
      {[](v1::DomainConfig& c) { c.set_memory_mib(2000000); }, "memory: 2000000 MiB is out of range (1..1048576)"},
      {[](v1::DomainConfig& c) { c.set_type(static_cast<v1::DomainType>(7)); }, "type: unknown domain type 7"},
      {[](v1::DomainConfig& c) { c.set_on_crash(static_cast<v1::LifecycleAction>(9)); },
       "on_crash: unknown lifecycle action 9"},
      {[](v1::DomainConfig& c) {
         auto* d = c.add_disks();
         d->set_target("disk.raw");
         d->set_format("raw");
         d->set_vdev("xvda");
       },
       "disks[0].target: 'disk.raw' is not an absolute path"},
      {[](v1::DomainConfig& c) {
         auto* d = c.add_disks();
         d->set_target("/d.vmdk");
         d->set_format("vmdk");
         d->set_vdev("xvda");
       },
       "disks[0].format: 'vmdk' is not raw or qcow2"},
      {[](v1::DomainConfig& c) {
         for (int i = 0; i < 2; ++i) {
           auto* d = c.add_disks();
           d->set_target("/d.raw");
           d->set_format("raw");
           d->set_vdev("xvdb");
         }
       },
       "disks[1].vdev: xvdb is used twice"},
  };
  for (const auto& [mutate, message] : cases) {
    v1::DomainConfig c = config("web");
    mutate(c);
    v1::DomainInfo info;
    const grpc::Status s = create(c, &info);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << message;
    EXPECT_EQ(s.error_message(), message);
  }
  EXPECT_EQ(hv_.count(Request::kCreate), 0u);
}

TEST_F(SmartvmdService, CreateDuplicateNameIsAlreadyExists) {
  v1::DomainInfo info;
  ASSERT_TRUE(create(config("web"), &info).ok());
  const grpc::Status s = create(config("web"), &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(s.error_message(), "a domain named 'web' already exists");
}

TEST_F(SmartvmdService, GetByNameOrDomid) {
  hv_.addDomain("alpha");
  const uint32_t beta = hv_.addDomain("beta");
  v1::DomainInfo byName, byId, dom0;
  ASSERT_TRUE(stub_->GetDomain(ctx().get(), ref("beta"), &byName).ok());
  ASSERT_TRUE(stub_->GetDomain(ctx().get(), ref(std::to_string(beta)), &byId).ok());
  ASSERT_TRUE(stub_->GetDomain(ctx().get(), ref("Domain-0"), &dom0).ok());
  EXPECT_EQ(byName.domid(), beta);
  EXPECT_EQ(byName.name(), "beta");
  EXPECT_EQ(byId.name(), "beta");
  EXPECT_EQ(dom0.domid(), 0u);
  // A domid is sent as is; a name costs one list first.
  const auto gets = requestsOf(Request::kGet);
  ASSERT_EQ(gets.size(), 3u);
  EXPECT_EQ(gets[0].get().domid(), beta);
  EXPECT_EQ(hv_.count(Request::kList), 2u);
}

TEST_F(SmartvmdService, UnknownDomainsAreNotFound) {
  hv_.addDomain("web");
  v1::DomainInfo info;
  v1::DestroyResponse destroyed;
  const std::pair<grpc::Status, std::string> cases[] = {
      {stub_->GetDomain(ctx().get(), ref("nope"), &info), "domain 'nope' not found"},
      {stub_->GetDomain(ctx().get(), ref("42"), &info), "domain '42' not found"},
      {stub_->PauseDomain(ctx().get(), ref("nope"), &info), "domain 'nope' not found"},
      {stub_->UnpauseDomain(ctx().get(), ref("42"), &info), "domain '42' not found"},
      {stub_->DestroyDomain(ctx().get(), ref("ghost"), &destroyed), "domain 'ghost' not found"},
      {stub_->ShutdownDomain(ctx().get(), shutdownRequest("ghost", true), &info), "domain 'ghost' not found"},
  };
  for (const auto& [status, message] : cases) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << message;
    EXPECT_EQ(status.error_message(), message);
  }
}

TEST_F(SmartvmdService, BadReferencesAreInvalidArguments) {
  v1::DomainInfo info;
  const grpc::Status empty = stub_->GetDomain(ctx().get(), ref(""), &info);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(empty.error_message(), "no domain given (an empty name or domid)");
  const grpc::Status huge = stub_->GetDomain(ctx().get(), ref("99999999999"), &info);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(huge.error_message(), "'99999999999' is not a valid domid");
}

TEST_F(SmartvmdService, PauseUnpauseDestroy) {
  const uint32_t id = hv_.addDomain("web");
  v1::DomainInfo info;
  ASSERT_TRUE(stub_->PauseDomain(ctx().get(), ref("web"), &info).ok());
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(hv_.domain(id)->state(), v1::DOMAIN_STATE_PAUSED);
  ASSERT_TRUE(stub_->UnpauseDomain(ctx().get(), ref(std::to_string(id)), &info).ok());
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(hv_.domain(id)->state(), v1::DOMAIN_STATE_RUNNING);

  v1::DestroyResponse destroyed;
  ASSERT_TRUE(stub_->DestroyDomain(ctx().get(), ref("web"), &destroyed).ok());
  EXPECT_EQ(destroyed.domid(), id);
  EXPECT_FALSE(hv_.domain(id).has_value());
  EXPECT_EQ(stub_->GetDomain(ctx().get(), ref("web"), &info).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(list().size(), 1u);
}

TEST_F(SmartvmdService, ConsoleFollowStreamsChunksUntilTheDomainIsGone) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "boot\n");
  std::thread guest([&] {
    for (const char* line : {"one\n", "two\n", "three\n"}) {
      std::this_thread::sleep_for(150ms);
      hv_.appendConsole(id, line);
    }
    std::this_thread::sleep_for(150ms);
    hv_.removeDomain(id);
  });
  v1::ReadConsoleRequest req;
  req.mutable_domain()->set_id("web");
  req.set_follow(true);
  auto c = ctx();
  auto reader = stub_->ReadConsole(c.get(), req);
  std::vector<v1::ConsoleChunk> chunks;
  for (v1::ConsoleChunk chunk; reader->Read(&chunk);) chunks.push_back(chunk);
  const grpc::Status s = reader->Finish();
  guest.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front().data(), "boot\n");
  EXPECT_EQ(chunks.front().next_offset(), 5u);
  std::string all;
  for (size_t i = 0; i < chunks.size(); ++i) {
    all += chunks[i].data();
    EXPECT_EQ(chunks[i].next_offset(), all.size());
    EXPECT_EQ(chunks[i].domain_gone(), i + 1 == chunks.size()) << i;
  }
  EXPECT_EQ(all, "boot\none\ntwo\nthree\n");
}

TEST_F(SmartvmdService, ConsoleWithoutFollowSendsTheBufferAndEnds) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "hello world");
  auto readAll = [&](uint64_t offset) {
    v1::ReadConsoleRequest req;
    req.mutable_domain()->set_id(std::to_string(id));
    req.set_offset(offset);
    auto c = ctx();
    auto reader = stub_->ReadConsole(c.get(), req);
    std::vector<v1::ConsoleChunk> chunks;
    for (v1::ConsoleChunk chunk; reader->Read(&chunk);) chunks.push_back(chunk);
    EXPECT_TRUE(reader->Finish().ok());
    return chunks;
  };
  const auto whole = readAll(0);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].data(), "hello world");
  EXPECT_EQ(whole[0].next_offset(), 11u);
  EXPECT_FALSE(whole[0].domain_gone());
  const auto tail = readAll(6);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].data(), "world");
  // Nothing new: one empty chunk that still tells the offset.
  const auto none = readAll(11);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].data(), "");
  EXPECT_EQ(none[0].next_offset(), 11u);
}

TEST_F(SmartvmdService, ConsoleOfAnUnknownDomainIsNotFound) {
  v1::ReadConsoleRequest req;
  req.mutable_domain()->set_id("nope");
  req.set_follow(true);
  auto c = ctx();
  auto reader = stub_->ReadConsole(c.get(), req);
  v1::ConsoleChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "domain 'nope' not found");
}

TEST_F(SmartvmdService, ConsoleClientCancelStopsTheServerLoop) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "x");
  v1::ReadConsoleRequest req;
  req.mutable_domain()->set_id("web");
  req.set_follow(true);
  auto c = ctx();
  auto reader = stub_->ReadConsole(c.get(), req);
  v1::ConsoleChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  EXPECT_EQ(chunk.data(), "x");
  c->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server notices within one poll (500 ms) and stops asking smartvm-hv.
  std::this_thread::sleep_for(1200ms);
  const size_t before = hv_.count(Request::kConsoleRead);
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(hv_.count(Request::kConsoleRead), before);
  EXPECT_TRUE(hv_.domain(id).has_value());
}

TEST_F(SmartvmdService, ShutdownWithWaitReturnsTheShutDownDomain) {
  const uint32_t id = hv_.addDomain("web", v1::LIFECYCLE_ACTION_PRESERVE);
  hv_.setShutdownDelay(300ms);
  v1::ShutdownRequest req = shutdownRequest("web", true);
  req.set_force(true);
  v1::DomainInfo info;
  const auto start = Clock::now();
  const grpc::Status s = stub_->ShutdownDomain(ctx().get(), req, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_EQ(info.domid(), id);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
  const auto shutdowns = requestsOf(Request::kShutdown);
  ASSERT_EQ(shutdowns.size(), 1u);
  EXPECT_EQ(shutdowns[0].shutdown().domid(), id);
  EXPECT_EQ(shutdowns[0].shutdown().reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_TRUE(shutdowns[0].shutdown().force());
  const auto waits = requestsOf(Request::kWait);
  ASSERT_GE(waits.size(), 1u);
  EXPECT_EQ(waits[0].wait().domid(), id);
  EXPECT_LE(waits[0].wait().timeout_ms(), 1000u);
}

TEST_F(SmartvmdService, ShutdownWithWaitOfADomainThatGoesAway) {
  const uint32_t id = hv_.addDomain("web", v1::LIFECYCLE_ACTION_DESTROY);
  hv_.setShutdownDelay(200ms);
  v1::DomainInfo info;
  ASSERT_TRUE(stub_->ShutdownDomain(ctx().get(), shutdownRequest(std::to_string(id), true), &info).ok());
  EXPECT_EQ(info.domid(), id);
  EXPECT_EQ(info.name(), "web");
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_FALSE(hv_.domain(id).has_value());
}

TEST_F(SmartvmdService, RebootWithWaitEndsWhenTheGuestHasRestarted) {
  const uint32_t id = hv_.addDomain("web", v1::LIFECYCLE_ACTION_DESTROY, v1::LIFECYCLE_ACTION_RESTART);
  hv_.setShutdownDelay(200ms);
  v1::DomainInfo info;
  ASSERT_TRUE(stub_->ShutdownDomain(ctx().get(), shutdownRequest("web", true, true), &info).ok());
  EXPECT_EQ(info.domid(), id);
  EXPECT_EQ(info.restarts(), 1u);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING);
  const auto shutdowns = requestsOf(Request::kShutdown);
  ASSERT_EQ(shutdowns.size(), 1u);
  EXPECT_EQ(shutdowns[0].shutdown().reason(), v1::SHUTDOWN_REASON_REBOOT);
  EXPECT_FALSE(shutdowns[0].shutdown().force());
}

TEST_F(SmartvmdService, ShutdownWithoutWaitAnswersAtOnce) {
  hv_.addDomain("web");
  hv_.setShutdownDelay(10s);
  v1::DomainInfo info;
  const auto start = Clock::now();
  ASSERT_TRUE(stub_->ShutdownDomain(ctx().get(), shutdownRequest("web", false), &info).ok());
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(hv_.count(Request::kWait), 0u);
}

TEST_F(SmartvmdService, ShutdownWaitTimesOut) {
  hv_.addDomain("web");
  hv_.setShutdownDelay(std::chrono::milliseconds::max());
  for (bool timeoutIsError : {false, true}) {
    hv_.setWaitTimeoutIsError(timeoutIsError);
    v1::ShutdownRequest req = shutdownRequest("web", true);
    req.set_wait_timeout_s(1);
    v1::DomainInfo info;
    const auto start = Clock::now();
    const grpc::Status s = stub_->ShutdownDomain(ctx().get(), req, &info);
    EXPECT_GE(Clock::now() - start, 900ms);
    EXPECT_LT(Clock::now() - start, 5s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(s.error_message(), "domain 'web' did not shut down within 1 s");
  }
}

TEST_F(SmartvmdService, HostInfoAndHypervisorLog) {
  v1::HostInfo host;
  ASSERT_TRUE(stub_->GetHostInfo(ctx().get(), {}, &host).ok());
  EXPECT_EQ(host.hostname(), "fakehost");
  EXPECT_EQ(host.xen_version(), "4.17");
  EXPECT_EQ(host.nr_cpus(), 2u);

  v1::HypervisorLogRequest req;
  v1::HypervisorLog log;
  ASSERT_TRUE(stub_->ReadHypervisorLog(ctx().get(), req, &log).ok());
  EXPECT_EQ(log.text(), "(XEN) smartvm-hv starting\n(XEN) Domain-0 ready\n");
  req.set_clear(true);
  ASSERT_TRUE(stub_->ReadHypervisorLog(ctx().get(), req, &log).ok());
  EXPECT_EQ(log.text(), "(XEN) smartvm-hv starting\n(XEN) Domain-0 ready\n");
  ASSERT_TRUE(stub_->ReadHypervisorLog(ctx().get(), {}, &log).ok());
  EXPECT_EQ(log.text(), "");
  EXPECT_TRUE(requestsOf(Request::kHvLog)[1].hv_log().clear());
}

TEST_F(SmartvmdService, ListEventChannelsByNameOrDomid) {
  const uint32_t id = hv_.addDomain("web");
  v1::EventChannel virq;
  virq.set_port(2);
  virq.set_state(v1::EVENT_CHANNEL_STATE_VIRQ);
  virq.set_virq(3);
  hv_.eventChannels[id] = {virq};
  for (const std::string& name : {std::string("web"), std::to_string(id)}) {
    v1::ListEventChannelsResponse resp;
    const grpc::Status s = stub_->ListEventChannels(ctx().get(), ref(name), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.domid(), id);
    ASSERT_EQ(resp.ports_size(), 1);
    EXPECT_EQ(resp.ports(0).virq(), 3u);
  }
  v1::ListEventChannelsResponse dom0;
  ASSERT_TRUE(stub_->ListEventChannels(ctx().get(), ref("Domain-0"), &dom0).ok());
  EXPECT_EQ(dom0.domid(), 0u);
  EXPECT_EQ(dom0.ports(0).state(), v1::EVENT_CHANNEL_STATE_RESERVED);

  v1::ListEventChannelsResponse none;
  grpc::Status missing = stub_->ListEventChannels(ctx().get(), ref("77"), &none);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "domain '77' not found");
  EXPECT_EQ(stub_->ListEventChannels(ctx().get(), ref(""), &none).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SmartvmdService, SendDebugKeys) {
  v1::DebugKeysRequest req;
  req.set_keys("q");
  v1::DebugKeysResponse resp;
  const grpc::Status s = stub_->SendDebugKeys(ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.text(), hv_.debugKeysText);
  req.set_keys("x");
  EXPECT_EQ(stub_->SendDebugKeys(ctx().get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_keys("");
  EXPECT_EQ(stub_->SendDebugKeys(ctx().get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(hv_.debugKeys.size(), 2u) << "an empty string never reaches smartvm-hv";
}

TEST_F(SmartvmdService, HypervisorErrorsMapToGrpcCodes) {
  hv_.addDomain("web");
  hv_.setHook([](const Request& r, control::v1::Response& out) {
    out.set_id(r.id());
    if (r.has_pause()) {
      out.set_error_code(EBUSY);
      out.set_error("domain 1 is being built");
      return FakeHv::HookAction::Answer;
    }
    if (r.has_create()) {
      out.set_error_code(ENOMEM);
      out.set_error("not enough memory for 4096 MiB");
      return FakeHv::HookAction::Answer;
    }
    if (r.has_get()) {
      out.set_error_code(-ESRCH);  // a negated errno is tolerated
      return FakeHv::HookAction::Answer;
    }
    if (r.has_host_info()) {
      out.set_error_code(ENOSYS);
      return FakeHv::HookAction::Answer;
    }
    return FakeHv::HookAction::Default;
  });
  v1::DomainInfo info;
  const grpc::Status busy = stub_->PauseDomain(ctx().get(), ref("web"), &info);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(busy.error_message(), "domain 1 is being built");
  const grpc::Status nomem = create(config("big"), &info);
  EXPECT_EQ(nomem.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(nomem.error_message(), "not enough memory for 4096 MiB");
  const grpc::Status gone = stub_->GetDomain(ctx().get(), ref("web"), &info);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gone.error_message(), "domain 'web' not found");
  v1::HostInfo host;
  const grpc::Status nosys = stub_->GetHostInfo(ctx().get(), {}, &host);
  EXPECT_EQ(nosys.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(nosys.error_message(), "smartvm-hv refused host_info");
}

TEST_F(SmartvmdService, ProtocolViolationsAreInternalOrUnavailable) {
  hv_.setHook([](const Request& r, control::v1::Response& out) {
    if (r.has_list()) return FakeHv::HookAction::Close;
    if (r.has_host_info()) {
      out.set_id(r.id() + 1000);
      return FakeHv::HookAction::Answer;
    }
    if (r.has_hv_log() || r.has_get()) {
      out.set_id(r.id());  // no result at all
      return FakeHv::HookAction::Answer;
    }
    return FakeHv::HookAction::Default;
  });
  v1::ListDomainsResponse domains;
  const grpc::Status closed = stub_->ListDomains(ctx().get(), {}, &domains);
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(closed.error_message(), "smartvm-hv closed the control connection without answering list");
  v1::HostInfo host;
  const grpc::Status wrongId = stub_->GetHostInfo(ctx().get(), {}, &host);
  EXPECT_EQ(wrongId.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(wrongId.error_message().find("smartvm-hv answered host_info with id "), std::string::npos);
  v1::DomainInfo info;
  const grpc::Status empty = stub_->GetDomain(ctx().get(), ref("0"), &info);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(empty.error_message(), "smartvm-hv answered get without the domain");
  // An empty hv_log answer is an empty log, not an error.
  v1::HypervisorLog log;
  EXPECT_TRUE(stub_->ReadHypervisorLog(ctx().get(), {}, &log).ok());
  EXPECT_EQ(log.text(), "");
}

TEST_F(SmartvmdService, ServerShutdownEndsOpenStreamsAndLeavesDomainsAlone) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "x");
  v1::ReadConsoleRequest req;
  req.mutable_domain()->set_id("web");
  req.set_follow(true);
  auto c = ctx();
  auto reader = stub_->ReadConsole(c.get(), req);
  v1::ConsoleChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  const auto start = Clock::now();
  server_.shutdown(200ms);
  EXPECT_LT(Clock::now() - start, 3s);
  while (reader->Read(&chunk)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
  EXPECT_TRUE(hv_.domain(id).has_value());
  EXPECT_EQ(hv_.domain(id)->state(), v1::DOMAIN_STATE_RUNNING);
  for (auto op : {Request::kDestroy, Request::kShutdown, Request::kPause}) EXPECT_EQ(hv_.count(op), 0u);
}

class UnreachableHv : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(UnreachableHv, MissingSocketIsUnavailableWithAHint) {
  const std::string hvPath = dir_.file("hv.sock");
  SmartvmdServer server(hvPath);
  ASSERT_TRUE(server.start("unix:" + dir_.file("d.sock")).isOk());
  auto stub = v1::Toolstack::NewStub(server.inProcessChannel());
  const std::string expected =
      "cannot reach smartvm-hv at " + hvPath + ": No such file or directory (is smartvm-hv running?)";
  v1::ListDomainsResponse domains;
  const grpc::Status list = stub->ListDomains(test::SmartvmdFixture::ctx().get(), {}, &domains);
  EXPECT_EQ(list.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(list.error_message(), expected);
  v1::DomainInfo info;
  const grpc::Status get = stub->GetDomain(test::SmartvmdFixture::ctx().get(), test::SmartvmdFixture::ref("3"), &info);
  EXPECT_EQ(get.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(get.error_message(), expected);
}

TEST_F(UnreachableHv, StaleSocketIsUnavailableWithAHint) {
  const std::string hvPath = dir_.file("hv.sock");
  auto fd = listenUnix(hvPath, 0600);
  ASSERT_TRUE(fd.isOk());
  ::close(*fd);  // the socket file stays, nobody listens: a crashed smartvm-hv
  SmartvmdServer server(hvPath);
  ASSERT_TRUE(server.start("unix:" + dir_.file("d.sock")).isOk());
  auto stub = v1::Toolstack::NewStub(server.inProcessChannel());
  v1::HostInfo host;
  const grpc::Status s = stub->GetHostInfo(test::SmartvmdFixture::ctx().get(), {}, &host);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(),
            "cannot reach smartvm-hv at " + hvPath + ": Connection refused (is smartvm-hv running?)");
}

TEST_F(UnreachableHv, ServerRefusesATakenOrBadAddress) {
  SmartvmdServer first(dir_.file("hv.sock"));
  ASSERT_TRUE(first.start("unix:" + dir_.file("d.sock")).isOk());
  SmartvmdServer second(dir_.file("hv.sock"));
  const Status taken = second.start("unix:" + dir_.file("d.sock"));
  EXPECT_EQ(taken.code(), EADDRINUSE);
  SmartvmdServer third(dir_.file("hv.sock"));
  EXPECT_EQ(third.start("nowhere").code(), EINVAL);
}

}  // namespace
}  // namespace smartvm::dom0
