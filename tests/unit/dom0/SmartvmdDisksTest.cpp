// smartvmd's PV disk calls (AttachDisk, DetachDisk, ListDisks) and the
// block-* commands, against a real xenstored on a temp socket, a fake
// smartvm-hv and a fake block backend (FakeBlkback) that takes or refuses
// each vbd as smartvm-blkback would.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "FakeBlkback.h"
#include "FakeHv.h"
#include "TempDir.h"
#include "XenstoredThread.h"
#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/cli/CliRunner.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/smartvmd/ToolstackCore.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using xenstore::XenstoreClient;
using Strings = std::vector<std::string>;

constexpr uint32_t kXvda = 51712, kXvdb = 51728, kXvdc = 51744;

std::string backend(uint32_t domid, uint32_t devid) {
  return "/local/domain/0/backend/vbd/" + std::to_string(domid) + "/" + std::to_string(devid);
}
std::string frontend(uint32_t domid, uint32_t devid) {
  return "/local/domain/" + std::to_string(domid) + "/device/vbd/" + std::to_string(devid);
}

class SmartvmdDisksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hv_.ringsOnCreate = true;
    ASSERT_TRUE(hv_.start().isOk());
    ASSERT_TRUE(xenstored_.start().isOk());
    const Status b = backend_.start();
    ASSERT_TRUE(b.isOk()) << b.toString();
    server_ = std::make_unique<SmartvmdServer>(dir_.file("hv.sock"), dir_.file("xenstored.sock"));
    const Status s = server_->start(target());
    ASSERT_TRUE(s.isOk()) << s.toString();
    channel_ = grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
    stub_ = v1::Toolstack::NewStub(channel_);
    auto xs = XenstoreClient::connect(dir_.file("xenstored.sock"));
    ASSERT_TRUE(xs.isOk()) << xs.status().toString();
    xs_.emplace(std::move(*xs));
    image_ = dir_.write("data.raw", std::string(4096, '\0'));
  }

  std::string target() const { return "unix:" + dir_.file("smartvmd.sock"); }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 30s);
    return c;
  }

  static v1::DiskSpec disk(const std::string& target, const std::string& vdev, bool readOnly = false) {
    v1::DiskSpec d;
    d.set_target(target);
    d.set_format("raw");
    d.set_vdev(vdev);
    d.set_read_only(readOnly);
    return d;
  }

  v1::DomainInfo create(const std::string& name, const std::vector<v1::DiskSpec>& disks = {}) {
    v1::CreateDomainRequest req;
    req.mutable_config()->set_name(name);
    req.mutable_config()->set_kernel("/boot/vmlinuz-guest");
    for (const auto& d : disks) *req.mutable_config()->add_disks() = d;
    v1::DomainInfo info;
    const grpc::Status s = stub_->CreateDomain(ctx().get(), req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  grpc::Status attach(const std::string& domain, const v1::DiskSpec& disk, v1::DiskInfo* out = nullptr) {
    v1::AttachDiskRequest req;
    req.mutable_domain()->set_id(domain);
    *req.mutable_disk() = disk;
    v1::DiskInfo info;
    return stub_->AttachDisk(ctx().get(), req, out != nullptr ? out : &info);
  }

  grpc::Status detach(const std::string& domain, const std::string& vdev) {
    v1::DetachDiskRequest req;
    req.mutable_domain()->set_id(domain);
    req.set_vdev(vdev);
    v1::DetachDiskResponse out;
    return stub_->DetachDisk(ctx().get(), req, &out);
  }

  grpc::Status listDisks(const std::string& domain, v1::ListDisksResponse& out) {
    v1::DomainRef ref;
    ref.set_id(domain);
    return stub_->ListDisks(ctx().get(), ref, &out);
  }

  /// The vdevs ListDisks shows, in its order.
  Strings listedVdevs(const std::string& domain) {
    v1::ListDisksResponse out;
    const grpc::Status s = listDisks(domain, out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    Strings vdevs;
    for (const auto& d : out.disks()) vdevs.push_back(d.spec().vdev());
    return vdevs;
  }

  /// The vdevs of the domain's config as GetDomain answers it.
  Strings configVdevs(const std::string& domain) {
    v1::DomainRef ref;
    ref.set_id(domain);
    v1::DomainInfo info;
    const grpc::Status s = stub_->GetDomain(ctx().get(), ref, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    Strings vdevs;
    for (const auto& d : info.config().disks()) vdevs.push_back(d.vdev());
    return vdevs;
  }

  /// A node's value, or its errno (ENOENT for a node that is not there).
  std::string read(const std::string& path) {
    auto r = xs_->read(path);
    return r.isOk() ? *r : "<errno " + std::to_string(r.status().code()) + ">";
  }
  static std::string absent() { return "<errno " + std::to_string(ENOENT) + ">"; }

  /// Polls until `pred` holds (the domain monitor acts on its own thread) or 10 s pass.
  template <typename Pred>
  static bool eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return pred();
  }

  /// Runs a smartvm command line through CliRunner against this smartvmd.
  int cli(const Strings& args) {
    out_.str("");
    err_.str("");
    std::vector<const char*> argv = {"smartvm"};
    for (const auto& a : args) argv.push_back(a.c_str());
    const CliArgs parsed = parseCliArgs(static_cast<int>(argv.size()), argv.data(), target().c_str());
    if (!parsed.command) {
      err_ << parsed.err;
      return parsed.exitCode;
    }
    return CliRunner(channel_, parsed.command->connect, out_, err_, {}).run(*parsed.command);
  }

  test::TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  test::XenstoredThread xenstored_{dir_.file("xenstored.sock")};
  test::FakeBlkback backend_{dir_.file("xenstored.sock")};
  std::unique_ptr<SmartvmdServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::optional<XenstoreClient> xs_;
  std::string image_;
  std::ostringstream out_, err_;
};

TEST_F(SmartvmdDisksTest, AttachWaitsForTheBackendAndListShowsTheDisk) {
  ASSERT_EQ(create("web").domid(), 1u);
  v1::DiskInfo info;
  const grpc::Status s = attach("web", disk(image_, "xvdb"), &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.devid(), kXvdb);
  EXPECT_EQ(info.backend_state(), 2) << "answered once the backend is in InitWait";
  EXPECT_EQ(info.frontend_state(), 1);
  EXPECT_EQ(info.event_channel(), -1);
  EXPECT_EQ(info.ring_ref(), -1);
  EXPECT_EQ(info.backend_path(), backend(1, kXvdb));
  EXPECT_EQ(info.spec().target(), image_);
  EXPECT_EQ(info.spec().vdev(), "xvdb");
  EXPECT_EQ(backend_.takes(1, kXvdb), 1);

  // libxl's nodes: what smartvm-blkback reads, and the frontend's pointer back.
  EXPECT_EQ(read(backend(1, kXvdb) + "/params"), "aio:" + image_);
  EXPECT_EQ(read(backend(1, kXvdb) + "/mode"), "w");
  EXPECT_EQ(read(backend(1, kXvdb) + "/frontend-id"), "1");
  EXPECT_EQ(read(frontend(1, kXvdb) + "/backend"), backend(1, kXvdb));
  EXPECT_EQ(read(frontend(1, kXvdb) + "/virtual-device"), std::to_string(kXvdb));

  // The guest's frontend publishes its ring: block-list shows it.
  ASSERT_TRUE(xs_->write(frontend(1, kXvdb) + "/event-channel", "7").isOk());
  ASSERT_TRUE(xs_->write(frontend(1, kXvdb) + "/ring-ref", "9").isOk());
  v1::ListDisksResponse listed;
  const grpc::Status l = listDisks("1", listed);
  ASSERT_TRUE(l.ok()) << l.error_message();
  EXPECT_EQ(listed.domid(), 1u);
  ASSERT_EQ(listed.disks_size(), 1);
  EXPECT_EQ(listed.disks(0).devid(), kXvdb);
  EXPECT_EQ(listed.disks(0).backend_state(), 2);
  EXPECT_EQ(listed.disks(0).event_channel(), 7);
  EXPECT_EQ(listed.disks(0).ring_ref(), 9);
  EXPECT_EQ(listed.disks(0).spec().format(), "raw");
  EXPECT_FALSE(listed.disks(0).spec().read_only());
  EXPECT_EQ(listed.disks(0).error(), "");
}

TEST_F(SmartvmdDisksTest, AttachingAVdevInUseIsAlreadyExists) {
  create("web", {disk(image_, "xvda")});
  ASSERT_EQ(backend_.takes(1, kXvda), 1) << "the config's disk came up with the domain";
  ASSERT_TRUE(attach("web", disk(image_, "xvdb")).ok());

  for (const char* vdev : {"xvda", "xvdb"}) {
    const grpc::Status s = attach("web", disk(image_, vdev, true));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << vdev;
    EXPECT_NE(s.error_message().find(std::string(vdev) + " attached already"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(read(backend(1, kXvdb) + "/mode"), "w") << "the first attach stands";
  EXPECT_EQ(backend_.takes(1, kXvdb), 1);
  EXPECT_EQ(listedVdevs("web"), (Strings{"xvda", "xvdb"}));
}

TEST_F(SmartvmdDisksTest, UnknownDomainIsNotFound) {
  create("web");
  for (const std::string dom : {"nope", "42"}) {
    grpc::Status s = attach(dom, disk(image_, "xvdb"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << dom;
    EXPECT_EQ(s.error_message(), "domain '" + dom + "' not found");
    s = detach(dom, "xvdb");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << dom;
    EXPECT_EQ(s.error_message(), "domain '" + dom + "' not found");
    v1::ListDisksResponse out;
    s = listDisks(dom, out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << dom;
    EXPECT_EQ(s.error_message(), "domain '" + dom + "' not found");
  }
  EXPECT_EQ(read("/local/domain/0/backend/vbd/42"), absent());
}

TEST_F(SmartvmdDisksTest, ARefusedDiskIsRemovedAgainAndItsReasonReturned) {
  create("web");
  const std::string missing = dir_.file("refuse-me.raw");
  const grpc::Status s = attach("web", disk(missing, "xvdc"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << "the disk cannot be served as things stand";
  EXPECT_EQ(s.error_message(),
            "the block backend refused the disk: cannot open " + missing + ": No such file or directory");
  EXPECT_EQ(read(backend(1, kXvdc)), absent()) << "the node set is gone again";
  EXPECT_EQ(read(frontend(1, kXvdc)), absent());
  EXPECT_TRUE(listedVdevs("web").empty());
  EXPECT_TRUE(configVdevs("web").empty()) << "a failed attach is not remembered";

  // The vdev is free for the next try.
  const grpc::Status again = attach("web", disk(image_, "xvdc"));
  EXPECT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(listedVdevs("web"), Strings{"xvdc"});
}

TEST_F(SmartvmdDisksTest, DetachByVdevOrDeviceNumberRemovesTheNodes) {
  create("web");
  ASSERT_TRUE(attach("web", disk(image_, "xvdb")).ok());
  ASSERT_TRUE(attach("web", disk(image_, "xvdc", true)).ok());
  ASSERT_EQ(listedVdevs("web"), (Strings{"xvdb", "xvdc"}));

  grpc::Status s = detach("web", "xvdb");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read(backend(1, kXvdb)), absent());
  EXPECT_EQ(read(frontend(1, kXvdb)), absent());
  EXPECT_EQ(listedVdevs("web"), Strings{"xvdc"});

  s = detach("1", std::to_string(kXvdc));  // block-list's Vdev column
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(read(backend(1, kXvdc)), absent());
  EXPECT_TRUE(listedVdevs("web").empty());

  s = detach("web", "xvdb");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "domain 'web' has no disk xvdb");
  s = detach("web", "floppy");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("vdev 'floppy' is not a disk name"), std::string::npos) << s.error_message();
  s = detach("web", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SmartvmdDisksTest, AttachChecksTheDiskAsConfigDisksAreChecked) {
  create("web");
  v1::DiskSpec relative = disk("data.raw", "xvdb");
  grpc::Status s = attach("web", relative);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "disk.target: 'data.raw' is not an absolute path");
  v1::DiskSpec vmdk = disk(image_, "xvdb");
  vmdk.set_format("vmdk");
  s = attach("web", vmdk);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "disk.format: 'vmdk' is not raw or qcow2");
  s = attach("web", disk(image_, "floppy"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("disk.vdev: vdev 'floppy'"), std::string::npos) << s.error_message();
  s = attach("Domain-0", disk(image_, "xvdb"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "Domain-0 takes no PV disks: attach them to a guest");
  EXPECT_EQ(read("/local/domain/0/backend/vbd"), absent()) << "nothing was written";
}

TEST_F(SmartvmdDisksTest, ADomainHasAtMostSixteenDisks) {
  create("web");
  for (char c = 'a'; c < 'a' + 16; ++c) {
    const grpc::Status s = attach("web", disk(image_, std::string("xvd") + c));
    ASSERT_TRUE(s.ok()) << c << ": " << s.error_message();
  }
  const grpc::Status s = attach("web", disk(image_, "xvdq"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "domain 'web' has 16 disks already (at most 16)");
  EXPECT_EQ(listedVdevs("web").size(), 16u);
}

TEST_F(SmartvmdDisksTest, GetDomainsConfigShowsTheDisksTheDomainHasNow) {
  create("web", {disk(image_, "xvda")});
  ASSERT_TRUE(attach("web", disk(image_, "xvdb")).ok());
  EXPECT_EQ(configVdevs("web"), (Strings{"xvda", "xvdb"})) << "as libxl's stored config keeps hot-plugged disks";
  v1::ListDomainsResponse all;
  ASSERT_TRUE(stub_->ListDomains(ctx().get(), v1::ListDomainsRequest(), &all).ok());
  ASSERT_EQ(all.domains_size(), 2) << "Domain-0 and web";
  EXPECT_EQ(all.domains(1).name(), "web");
  EXPECT_EQ(all.domains(1).config().disks_size(), 2);
  EXPECT_EQ(all.domains(0).config().disks_size(), 0);
  ASSERT_TRUE(detach("web", "xvda").ok());
  EXPECT_EQ(configVdevs("web"), Strings{"xvdb"}) << "a detached config disk is gone from the config too";
}

TEST_F(SmartvmdDisksTest, RestartInPlaceReattachesHotPluggedDisksButNotDetachedOnes) {
  create("web", {disk(image_, "xvda")});
  ASSERT_TRUE(attach("web", disk(image_, "xvdb", true)).ok());
  ASSERT_TRUE(detach("web", "xvda").ok());
  ASSERT_EQ(backend_.takes(1, kXvda), 1);
  ASSERT_EQ(backend_.takes(1, kXvdb), 1);

  // New rings: the domain monitor takes it for a restart in place (a reboot).
  hv_.setRings(1, 0xabc00, 7, 0xabd00, 8);
  ASSERT_TRUE(eventually([&] { return backend_.takes(1, kXvdb) == 2; })) << "xvdb re-created for the new boot";
  ASSERT_TRUE(eventually([&] { return read(backend(1, kXvdb) + "/state") == "2"; }));
  EXPECT_EQ(read(backend(1, kXvdb) + "/mode"), "r") << "the hot-plugged spec, read-only, came back as it was";
  EXPECT_EQ(read(frontend(1, kXvdb) + "/backend"), backend(1, kXvdb)) << "in the new domain tree";
  EXPECT_EQ(read(backend(1, kXvda)), absent()) << "the detached config disk stays detached";
  EXPECT_EQ(backend_.takes(1, kXvda), 1);
  EXPECT_EQ(listedVdevs("web"), Strings{"xvdb"});
}

TEST_F(SmartvmdDisksTest, DestroyDetachesEveryDisk) {
  create("web", {disk(image_, "xvda")});
  ASSERT_TRUE(attach("web", disk(image_, "xvdb")).ok());
  v1::DomainRef ref;
  ref.set_id("web");
  v1::DestroyResponse out;
  ASSERT_TRUE(stub_->DestroyDomain(ctx().get(), ref, &out).ok());
  EXPECT_EQ(read("/local/domain/0/backend/vbd/1"), absent());
  v1::ListDisksResponse listed;
  EXPECT_EQ(listDisks("web", listed).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SmartvmdDisksTest, NoBackendAnsweringTimesOutAndLeavesNoNodes) {
  backend_.stop();
  const uint32_t domid = hv_.addDomain("web");
  // The core with a short backend wait: smartvmd's own is 10 s.
  ControlClient hv(dir_.file("hv.sock"));
  ToolstackCore core(hv);
  VbdDomains disks(dir_.file("xenstored.sock"), 300ms);
  core.setDisks(disks);
  v1::AttachDiskRequest req;
  req.mutable_domain()->set_id("web");
  *req.mutable_disk() = disk(image_, "xvdb");
  auto r = core.attachDisk(req);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ETIMEDOUT);
  EXPECT_EQ(r.status().message().rfind("smartvm-blkback is not answering: ", 0), 0u) << r.status().message();
  EXPECT_EQ(read(backend(domid, kXvdb)), absent());
  EXPECT_EQ(read(frontend(domid, kXvdb)), absent());
  EXPECT_TRUE(disks.disksOf(*hv_.domain(domid)).empty());
}

TEST_F(SmartvmdDisksTest, WithoutXenstoredTheDiskCallsNameTheMissingOption) {
  server_.reset();
  server_ = std::make_unique<SmartvmdServer>(dir_.file("hv.sock"), "");
  ASSERT_TRUE(server_->start(target()).isOk());
  stub_ = v1::Toolstack::NewStub(grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  create("web");
  v1::ListDisksResponse listed;
  for (const grpc::Status& s : {attach("web", disk(image_, "xvdb")), detach("web", "xvdb"), listDisks("web", listed)}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_NE(s.error_message().find("smartvmd runs without smartvm-xenstored (--xenstored-socket \"\")"),
              std::string::npos)
        << s.error_message();
  }
  EXPECT_EQ(read("/local/domain/0/backend/vbd"), absent());
}

TEST_F(SmartvmdDisksTest, BlockCommandsAttachListAndDetach) {
  create("web");
  ASSERT_EQ(cli({"block-attach", "web", "format=raw,vdev=xvdb", "access=ro", "target=" + image_}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "") << "silent, as xl";
  ASSERT_EQ(cli({"block-attach", "1", image_ + ",qcow2,xvdc"}), 0) << err_.str();

  ASSERT_EQ(cli({"block-list", "web"}), 0) << err_.str();
  const std::string be = backend(1, kXvdb);
  // clang-format off
  EXPECT_EQ(out_.str(),
            "Vdev  BE  handle state evt-ch ring-ref BE-path                             BE-state Dev   Mode Format Target\n"
            "51728 0   1      1     -1     -1       " + be + " 2        xvdb  ro   raw    " + image_ + "\n"
            "51744 0   1      1     -1     -1       " + backend(1, kXvdc) + " 2        xvdc  rw   qcow2  " + image_ + "\n");
  // clang-format on

  // list -l shows the disks the domain has now, as xl's does.
  ASSERT_EQ(cli({"list", "-l", "web"}), 0) << err_.str();
  const auto listed = nlohmann::json::parse(out_.str());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["config"]["disks"],
            nlohmann::json::parse(R"([{"vdev": "xvdb", "format": "raw", "access": "ro", "target": ")" + image_ +
                                  R"("}, {"vdev": "xvdc", "format": "qcow2", "access": "rw", "target": ")" + image_ +
                                  R"("}])"));

  ASSERT_EQ(cli({"block-detach", "web", "xvdb"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(read(be), absent());

  // Errors are one line each; block-list still lists the domains it can.
  EXPECT_EQ(cli({"block-list", "nope", "web"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'nope' not found\n");
  EXPECT_NE(out_.str().find("xvdc"), std::string::npos) << out_.str();
  EXPECT_EQ(cli({"block-detach", "web", "xvdb"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'web' has no disk xvdb\n");
  EXPECT_EQ(cli({"block-attach", "web", image_ + ",raw,xvdc"}), 1);
  EXPECT_NE(err_.str().find("smartvm: domain 'web' has xvdc attached already"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace smartvm::dom0
