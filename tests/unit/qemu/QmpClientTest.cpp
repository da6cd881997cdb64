// QmpClient against a scripted QMP peer on a socketpair: the handshake,
// replies matched by id, events kept aside, QEMU's errors as Status, and
// malformed or missing answers refused without hanging.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "smartvm/qemu/QmpClient.h"

namespace smartvm::qemu {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

/// The server end: reads one command line at a time and answers with what
/// `reply` returns for it (raw text, newline added; empty = say nothing).
class FakeQmp {
 public:
  using Reply = std::function<std::string(const Json& command)>;
  FakeQmp(std::string greeting, Reply reply) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_.reset(sv[0]);
    server_.reset(sv[1]);
    thread_ = std::thread([this, greeting = std::move(greeting), reply = std::move(reply)] {
      if (!greeting.empty()) put(greeting);
      std::string buf;
      char c;
      while (::read(server_.get(), &c, 1) == 1) {
        if (c != '\n') {
          buf += c;
          continue;
        }
        Json cmd = Json::parse(buf, nullptr, false);
        buf.clear();
        const std::string out = reply(cmd);
        if (out == "CLOSE") break;
        if (!out.empty()) put(out);
      }
      server_.reset();
    });
  }
  ~FakeQmp() {
    client_.reset();
    ::shutdown(server_.get(), SHUT_RDWR);
    thread_.join();
  }
  UniqueFd takeClient() { return std::move(client_); }

 private:
  void put(const std::string& s) {
    const std::string line = s + "\r\n";
    ASSERT_EQ(::write(server_.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  UniqueFd client_, server_;
  std::thread thread_;
};

const std::string kGreeting = R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})";

std::string ok(const Json& cmd, const Json& ret = Json::object()) {
  return Json{{"return", ret}, {"id", cmd["id"]}}.dump();
}

TEST(QmpClient, HandshakeThenRepliesMatchedByIdWithEventsKeptAside) {
  FakeQmp q(kGreeting, [](const Json& cmd) -> std::string {
    if (cmd["execute"] == "qmp_capabilities") return ok(cmd);
    if (cmd["execute"] == "query-name") {
      // An event and a stale reply first: neither is the answer.
      return std::string(R"({"event": "BLOCK_EXPORT_DELETED", "data": {"id": "d0"}})") + "\r\n" +
             R"({"return": {"name": "stale"}, "id": 999})" + "\r\n" + ok(cmd, {{"name", "qsd"}});
    }
    return "";
  });
  auto c = QmpClient::handshake(q.takeClient(), 2000ms);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->version()["qemu"]["major"], 7);
  auto r = c->execute("query-name");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)["name"], "qsd");
  auto ev = c->takeEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["event"], "BLOCK_EXPORT_DELETED");
  EXPECT_TRUE(c->takeEvents().empty()) << "taken once";
}

TEST(QmpClient, ArgumentsAreSentAndQemuErrorsBecomeStatus) {
  Json seen;
  FakeQmp q(kGreeting, [&seen](const Json& cmd) -> std::string {
    if (cmd["execute"] == "qmp_capabilities") return ok(cmd);
    seen = cmd;
    if (cmd["execute"] == "blockdev-add")
      return Json{{"error", {{"class", "GenericError"}, {"desc", "Duplicate nodes with node-name='d0'"}}},
                  {"id", cmd["id"]}}
          .dump();
    return Json{{"error", {{"class", "CommandNotFound"}, {"desc", "The command nope has not been found"}}},
                {"id", cmd["id"]}}
        .dump();
  });
  auto c = QmpClient::handshake(q.takeClient(), 2000ms);
  ASSERT_TRUE(c.isOk());
  auto r = c->execute("blockdev-add", {{"node-name", "d0"}, {"driver", "raw"}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_NE(r.status().message().find("Duplicate nodes"), std::string::npos) << r.status().message();
  EXPECT_EQ(seen["arguments"]["node-name"], "d0");
  auto n = c->execute("nope");
  ASSERT_FALSE(n.isOk());
  EXPECT_EQ(n.status().code(), ENOSYS);
}

TEST(QmpClient, NotAGreetingIsRefused) {
  FakeQmp q(R"({"hello": 1})", [](const Json&) { return std::string(); });
  auto c = QmpClient::handshake(q.takeClient(), 1000ms);
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), EPROTO);
}

TEST(QmpClient, GarbageLineIsAProtocolError) {
  FakeQmp q(kGreeting, [](const Json& cmd) -> std::string {
    if (cmd["execute"] == "qmp_capabilities") return ok(cmd);
    return "{not json";
  });
  auto c = QmpClient::handshake(q.takeClient(), 2000ms);
  ASSERT_TRUE(c.isOk());
  auto r = c->execute("query-name");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EPROTO);
}

TEST(QmpClient, ErrorOfTheWrongShapeDoesNotThrow) {
  FakeQmp q(kGreeting, [](const Json& cmd) -> std::string {
    if (cmd["execute"] == "qmp_capabilities") return ok(cmd);
    return Json{{"error", {{"class", 5}, {"desc", Json::array()}}}, {"id", cmd["id"]}}.dump();
  });
  auto c = QmpClient::handshake(q.takeClient(), 2000ms);
  ASSERT_TRUE(c.isOk());
  auto r = c->execute("query-name");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("no description"), std::string::npos) << r.status().message();
}

TEST(QmpClient, SilenceTimesOutAndAClosedPeerIsReset) {
  FakeQmp q(kGreeting, [](const Json& cmd) -> std::string {
    if (cmd["execute"] == "qmp_capabilities") return ok(cmd);
    if (cmd["execute"] == "hang") return "";
    return "CLOSE";
  });
  auto c = QmpClient::handshake(q.takeClient(), 2000ms);
  ASSERT_TRUE(c.isOk());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c->execute("hang", Json::object(), 200ms);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto gone = c->execute("bye", Json::object(), 2000ms);
  ASSERT_FALSE(gone.isOk());
  EXPECT_EQ(gone.status().code(), ECONNRESET);
}

TEST(QmpClient, NobodyListeningIsAClearError) {
  auto c = QmpClient::connect("/nonexistent/smartvm-qmp.sock", 100ms);
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ENOENT);
  EXPECT_NE(c.status().message().find("/nonexistent/smartvm-qmp.sock"), std::string::npos);
}

}  // namespace
}  // namespace smartvm::qemu
