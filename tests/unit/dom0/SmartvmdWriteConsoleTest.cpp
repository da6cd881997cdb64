// smartvmd's WriteConsole over gRPC against a fake smartvm-hv: bytes reach the
// domain's console ring, a full ring takes only part, bad requests are refused.
#include "SmartvmdFixture.h"

namespace smartvm::dom0 {
namespace {

using control::v1::Request;

class SmartvmdWriteConsole : public test::SmartvmdFixture {
 protected:
  grpc::Status write(const std::string& domain, const std::string& data, uint32_t* written) {
    v1::WriteConsoleRequest req;
    req.mutable_domain()->set_id(domain);
    req.set_data(data);
    v1::WriteConsoleResponse resp;
    const grpc::Status s = stub_->WriteConsole(ctx().get(), req, &resp);
    *written = resp.written();
    return s;
  }
};

TEST_F(SmartvmdWriteConsole, BytesReachTheRingByNameOrDomid) {
  const uint32_t id = hv_.addDomain("web");
  uint32_t written = 0;
  grpc::Status s = write("web", "ls -l\r", &written);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(written, 6u);
  s = write(std::to_string(id), std::string("\x00\x1b[A", 4), &written);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(written, 4u);
  // Binary bytes (NUL, escapes) pass untouched.
  EXPECT_EQ(hv_.consoleInput(id), std::string("ls -l\r\x00\x1b[A", 10));
  const auto sent = hv_.requests();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().console_write().domid(), id);
}

TEST_F(SmartvmdWriteConsole, AFullRingTakesPartAndThenNothingUntilTheGuestReads) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setConsoleRing(id, true, 8);
  uint32_t written = 0;
  ASSERT_TRUE(write("web", "0123456789", &written).ok());
  EXPECT_EQ(written, 8u);
  ASSERT_TRUE(write("web", "89", &written).ok());
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(hv_.guestReadsConsole(id), "01234567");
  ASSERT_TRUE(write("web", "89", &written).ok());
  EXPECT_EQ(written, 2u);
  EXPECT_EQ(hv_.consoleInput(id), "0123456789");
}

TEST_F(SmartvmdWriteConsole, EmptyInputIsZeroBytes) {
  const uint32_t id = hv_.addDomain("web");
  uint32_t written = 7;
  ASSERT_TRUE(write("web", "", &written).ok());
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(hv_.consoleInput(id), "");
}

TEST_F(SmartvmdWriteConsole, OversizedInputIsRefusedBeforeReachingTheRing) {
  const uint32_t id = hv_.addDomain("web");
  uint32_t written = 0;
  const grpc::Status s = write("web", std::string(ToolstackCore::kMaxConsoleWrite + 1, 'x'), &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "console input of 4097 bytes is over the 4096-byte limit of one WriteConsole; send it in pieces");
  EXPECT_EQ(hv_.count(Request::kConsoleWrite), 0u);
  EXPECT_EQ(hv_.consoleInput(id), "");
  // Exactly the limit is fine (the 1 KiB ring takes what fits).
  ASSERT_TRUE(write("web", std::string(ToolstackCore::kMaxConsoleWrite, 'y'), &written).ok());
  EXPECT_EQ(written, 1024u);
}

TEST_F(SmartvmdWriteConsole, UnknownDomainIsNotFound) {
  uint32_t written = 0;
  grpc::Status s = write("nope", "x", &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "domain 'nope' not found");
  s = write("42", "x", &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "domain '42' not found");
  s = write("", "x", &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SmartvmdWriteConsole, DomainWithoutAConsoleRingIsAFailedPrecondition) {
  const uint32_t id = hv_.addDomain("hvmish");
  hv_.setConsoleRing(id, false);
  uint32_t written = 0;
  const grpc::Status s = write("hvmish", "x", &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "domain 'hvmish' has no console ring served by the hypervisor");
}

TEST_F(SmartvmdWriteConsole, SmartvmHvDownIsUnavailable) {
  hv_.addDomain("web");
  hv_.stop();
  uint32_t written = 0;
  const grpc::Status s = write("1", "x", &written);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("is smartvm-hv running?"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace smartvm::dom0
