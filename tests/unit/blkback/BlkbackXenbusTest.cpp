// blkif's xenbus handshake from the backend's side, against a xenstore in a
// map: features and InitWait, the frontend's ring published and connected,
// the disk's size published, Closing/Closed and a reconnect, and every
// malformed frontend value turned into an error node and Closing.
#include <gtest/gtest.h>

#include <map>

#include "smartvm/dom0/blkback/BlkbackXenbus.h"

#include <xen/io/blkif.h>

namespace smartvm::dom0::blkback {
namespace {

class MapStore final : public XenbusStore {
 public:
  Result<std::string> read(const std::string& path) override {
    auto it = nodes.find(path);
    if (it == nodes.end()) return error(ENOENT, path);
    return it->second;
  }
  Status write(const std::string& path, const std::string& value) override {
    nodes[path] = value;
    return Status::ok();
  }
  std::map<std::string, std::string> nodes;
};

class FakeConnector final : public BlkbackConnector {
 public:
  Status connectRing(const RingParams& p) override {
    last = p;
    if (refuse) return error(EINVAL, "GNTST_bad_gntref");
    connected = true;
    ++connects;
    return Status::ok();
  }
  void disconnect() override {
    if (connected) ++disconnects;
    connected = false;
  }
  RingParams last;
  bool refuse = false, connected = false;
  int connects = 0, disconnects = 0;
};

const std::string kBe = "/local/domain/0/backend/vbd/3/51712";
const std::string kFe = "/local/domain/3/device/vbd/51712";

class BlkbackXenbusTest : public ::testing::Test {
 protected:
  BlkbackXenbus::Config config(bool ro = false) {
    BlkbackXenbus::Config c;
    c.backendPath = kBe;
    c.frontendPath = kFe;
    c.sectors = 2048;
    c.readOnly = ro;
    c.discard = true;
    return c;
  }
  void frontend(const std::string& key, const std::string& value) { store.nodes[kFe + "/" + key] = value; }
  std::string be(const std::string& key) { return store.nodes[kBe + "/" + key]; }
  void publishRing() {
    frontend("ring-ref", "8");
    frontend("event-channel", "5");
    frontend("protocol", "x86_64-abi");
  }
  MapStore store;
  FakeConnector conn;
};

TEST_F(BlkbackXenbusTest, ProbeAdvertisesFeaturesAndWaits) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  EXPECT_EQ(be("state"), "2");
  EXPECT_EQ(x.state(), XenbusStateInitWait);
  EXPECT_EQ(be("feature-flush-cache"), "1");
  EXPECT_EQ(be("feature-barrier"), "1");
  EXPECT_EQ(be("feature-discard"), "1");
  EXPECT_EQ(be("feature-max-indirect-segments"), "256");
  EXPECT_EQ(be("feature-persistent"), "1") << "persistent grants are offered";
  EXPECT_EQ(be("sectors"), "") << "the size comes with Connected";
}

TEST_F(BlkbackXenbusTest, InitialisedFrontendIsConnectedAndSeesTheDisk) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  publishRing();
  frontend("state", "3");
  x.frontendChanged();
  ASSERT_TRUE(conn.connected) << x.lastError();
  ASSERT_EQ(conn.last.ringRefs.size(), 1u);
  EXPECT_EQ(conn.last.ringRefs[0], 8u);
  EXPECT_EQ(conn.last.eventChannel, 5u);
  EXPECT_EQ(be("state"), "4");
  EXPECT_EQ(be("sectors"), "2048");
  EXPECT_EQ(be("sector-size"), "512");
  EXPECT_EQ(be("info"), "0");
  frontend("state", "4");
  x.frontendChanged();
  EXPECT_EQ(conn.connects, 1) << "Connected after Connected does nothing";
}

TEST_F(BlkbackXenbusTest, PersistentGrantsOnlyWhenTheFrontendOffersThem) {
  struct Case {
    const char* value;  ///< the frontend's feature-persistent, nullptr: absent
    bool persistent;
  };
  // As xenbus_read_unsigned(otherend, "feature-persistent", 0).
  for (const Case c : {Case{"1", true}, Case{nullptr, false}, Case{"0", false}, Case{"banana", false},
                       Case{"2", true}}) {
    MapStore s;
    FakeConnector cn;
    BlkbackXenbus x(s, cn, config());
    ASSERT_TRUE(x.probe().isOk());
    EXPECT_EQ(s.nodes[kBe + "/feature-persistent"], "1");
    s.nodes[kFe + "/ring-ref"] = "8";
    s.nodes[kFe + "/event-channel"] = "5";
    if (c.value != nullptr) s.nodes[kFe + "/feature-persistent"] = c.value;
    s.nodes[kFe + "/state"] = "3";
    x.frontendChanged();
    ASSERT_TRUE(cn.connected) << (c.value ? c.value : "absent") << ": " << x.lastError();
    EXPECT_EQ(cn.last.persistent, c.persistent) << (c.value ? c.value : "absent");
  }
  // A backend configured without them offers 0 and never turns them on.
  auto cfg = config();
  cfg.persistentGrants = false;
  BlkbackXenbus x(store, conn, cfg);
  ASSERT_TRUE(x.probe().isOk());
  EXPECT_EQ(be("feature-persistent"), "0");
  publishRing();
  frontend("feature-persistent", "1");
  frontend("state", "3");
  x.frontendChanged();
  ASSERT_TRUE(conn.connected);
  EXPECT_FALSE(conn.last.persistent);
}

TEST_F(BlkbackXenbusTest, ReadOnlyDiskSaysSoAndOffersNoDiscard) {
  BlkbackXenbus x(store, conn, config(/*ro=*/true));
  ASSERT_TRUE(x.probe().isOk());
  EXPECT_EQ(store.nodes.count(kBe + "/feature-discard"), 0u);
  publishRing();
  frontend("state", "3");
  x.frontendChanged();
  EXPECT_EQ(be("info"), std::to_string(VDISK_READONLY));
}

TEST_F(BlkbackXenbusTest, CloseAndReconnect) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  publishRing();
  frontend("state", "3");
  x.frontendChanged();
  ASSERT_TRUE(conn.connected);
  frontend("state", "5");
  x.frontendChanged();
  EXPECT_EQ(be("state"), "5");
  frontend("state", "6");
  x.frontendChanged();
  EXPECT_EQ(be("state"), "6");
  EXPECT_FALSE(conn.connected);
  EXPECT_EQ(conn.disconnects, 1);
  frontend("state", "1");
  x.frontendChanged();
  EXPECT_EQ(be("state"), "2") << "ready for the frontend to come back";
  frontend("ring-ref", "9");
  frontend("state", "3");
  x.frontendChanged();
  EXPECT_TRUE(conn.connected);
  EXPECT_EQ(conn.last.ringRefs[0], 9u);
  EXPECT_EQ(be("state"), "4");
}

TEST_F(BlkbackXenbusTest, VanishedFrontendClosesTheBackend) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  publishRing();
  frontend("state", "3");
  x.frontendChanged();
  store.nodes.erase(kFe + "/state");
  x.frontendChanged();
  EXPECT_EQ(be("state"), "6");
  EXPECT_FALSE(conn.connected);
}

struct Hostile {
  const char* key;
  const char* value;  ///< nullptr: the node is missing
  const char* says;
};

class BlkbackXenbusHostile : public BlkbackXenbusTest, public ::testing::WithParamInterface<Hostile> {};

TEST_P(BlkbackXenbusHostile, MalformedFrontendValueIsAFatalDeviceError) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  publishRing();
  const Hostile h = GetParam();
  if (h.value == nullptr)
    store.nodes.erase(kFe + "/" + h.key);
  else
    frontend(h.key, h.value);
  if (std::string(h.key) != "state") frontend("state", "3");
  x.frontendChanged();
  EXPECT_FALSE(conn.connected) << "nothing connected on bad input";
  EXPECT_EQ(be("state"), "5") << "Closing, as xenbus_dev_fatal leaves it";
  const std::string err = store.nodes["/local/domain/0/error/backend/vbd/3/51712/error"];
  EXPECT_NE(err.find(h.says), std::string::npos) << err;
  EXPECT_EQ(err.rfind("-", 0), 0u) << "starts with the negative errno, as Linux writes it: " << err;
}

INSTANTIATE_TEST_SUITE_P(
    Values, BlkbackXenbusHostile,
    ::testing::Values(Hostile{"ring-ref", "abc", "not a number"}, Hostile{"ring-ref", "-1", "not a number"},
                      Hostile{"ring-ref", "4294967296", "larger than"}, Hostile{"ring-ref", "", "not a number"},
                      Hostile{"ring-ref", "8 ", "not a number"},
                      Hostile{"event-channel", nullptr, "event-channel"},
                      Hostile{"event-channel", "99999999999999999999999", "not a number"},
                      Hostile{"protocol", "x86_32-abi", "not supported"},
                      Hostile{"ring-page-order", "3", "above the offered"},
                      Hostile{"state", "banana", "frontend state"}, Hostile{"state", "42", "saw state 42"}));

TEST_F(BlkbackXenbusTest, RingThatCannotBeMappedIsReported) {
  BlkbackXenbus x(store, conn, config());
  ASSERT_TRUE(x.probe().isOk());
  publishRing();
  conn.refuse = true;
  frontend("state", "3");
  x.frontendChanged();
  EXPECT_EQ(be("state"), "5");
  EXPECT_NE(x.lastError().find("GNTST_bad_gntref"), std::string::npos) << x.lastError();
}

}  // namespace
}  // namespace smartvm::dom0::blkback
