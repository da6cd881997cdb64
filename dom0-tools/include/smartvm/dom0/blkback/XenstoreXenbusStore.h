#pragma once
// The handshake's XenbusStore over dom0's xenstore client.
#include "smartvm/dom0/blkback/BlkbackXenbus.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0::blkback {

class XenstoreXenbusStore final : public XenbusStore {
 public:
  explicit XenstoreXenbusStore(xenstore::XenstoreClient& xs) : xs_(xs) {}
  Result<std::string> read(const std::string& path) override { return xs_.read(path); }
  Status write(const std::string& path, const std::string& value) override { return xs_.write(path, value); }

 private:
  xenstore::XenstoreClient& xs_;
};

}  // namespace smartvm::dom0::blkback
