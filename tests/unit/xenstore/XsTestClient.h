#pragma once
// A client of an in-process XsServerCore: builds request messages, feeds
// them to its connection and decodes what comes back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smartvm/dom0/xenstore/XsServerCore.h"

namespace smartvm::dom0::xenstore::test {

/// `s` with its NUL terminator, as xenstore strings travel.
inline std::string z(const std::string& s) { return std::string(s.c_str(), s.size() + 1); }

/// Decodes a byte stream into messages.
inline std::vector<XsMessage> decode(const std::string& bytes) {
  XsFrameReader r;
  r.feed(bytes);
  std::vector<XsMessage> out;
  while (auto m = r.next()) out.push_back(*m);
  return out;
}

/// A reply as text: the payload, or "E:<name>" for an XS_ERROR.
inline std::string text(const XsMessage& m) {
  if (m.hdr.type == XS_ERROR) return "E:" + std::string(m.payload.c_str());
  return m.payload;
}

class XsTestClient {
 public:
  XsTestClient(XsServerCore& core, uint32_t domid) : core_(core), conn_(core.addConnection(domid)) {}

  XsConnection& conn() { return conn_; }

  /// Sends one request; returns its reply and keeps any watch events for events().
  XsMessage call(uint32_t type, const std::string& payload, uint32_t tx = 0) {
    const uint32_t req = nextReq_++;
    core_.receive(conn_, XsMessage::encode(type, req, tx, payload));
    XsMessage reply;
    bool found = false;
    for (auto& m : decode(conn_.takeOutput())) {
      if (m.hdr.type == XS_WATCH_EVENT) {
        events_.push_back(m);
      } else {
        EXPECT_FALSE(found) << "two replies to one request";
        EXPECT_EQ(m.hdr.req_id, req);
        EXPECT_EQ(m.hdr.tx_id, tx);
        reply = m;
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no reply to request type " << type;
    return reply;
  }
  std::string op(uint32_t type, const std::string& payload, uint32_t tx = 0) { return text(call(type, payload, tx)); }

  std::string read(const std::string& p, uint32_t tx = 0) { return op(XS_READ, z(p), tx); }
  std::string write(const std::string& p, const std::string& v, uint32_t tx = 0) { return op(XS_WRITE, z(p) + v, tx); }
  std::string mkdir(const std::string& p, uint32_t tx = 0) { return op(XS_MKDIR, z(p), tx); }
  std::string rm(const std::string& p, uint32_t tx = 0) { return op(XS_RM, z(p), tx); }
  std::string dir(const std::string& p) { return op(XS_DIRECTORY, z(p)); }
  std::string perms(const std::string& p) { return op(XS_GET_PERMS, z(p)); }
  std::string setPerms(const std::string& p, const std::string& joined) { return op(XS_SET_PERMS, z(p) + joined); }
  std::string watch(const std::string& p, const std::string& tok) { return op(XS_WATCH, z(p) + z(tok)); }
  std::string unwatch(const std::string& p, const std::string& tok) { return op(XS_UNWATCH, z(p) + z(tok)); }
  uint32_t start() { return static_cast<uint32_t>(std::stoul(op(XS_TRANSACTION_START, z("")))); }
  std::string end(uint32_t tx, bool commit) { return op(XS_TRANSACTION_END, z(commit ? "T" : "F"), tx); }

  /// Watch events received so far as "path|token", then forgotten; includes those queued by others' requests.
  std::vector<std::string> events() {
    for (auto& m : decode(conn_.takeOutput())) events_.push_back(m);
    std::vector<std::string> out;
    for (const auto& e : events_) {
      EXPECT_EQ(e.hdr.type, static_cast<uint32_t>(XS_WATCH_EVENT));
      EXPECT_EQ(e.hdr.req_id, 0u);
      const auto parts = xsSplitStrings(e.payload);
      EXPECT_TRUE(parts && parts->size() == 2);
      if (parts && parts->size() == 2) out.push_back((*parts)[0] + "|" + (*parts)[1]);
    }
    events_.clear();
    return out;
  }

 private:
  XsServerCore& core_;
  XsConnection& conn_;
  uint32_t nextReq_ = 1;
  std::vector<XsMessage> events_;
};

/// "OK" plus its NUL, the ack most operations answer with.
inline const std::string kOk = z("OK");

}  // namespace smartvm::dom0::xenstore::test
