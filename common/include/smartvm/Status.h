#pragma once
// The one error type of Smart-VM's core. Codes are positive errno values (as
// in Xen, whose x86 errno numbers match Linux's); hypercall handlers return
// the negated code to the guest, the API edge maps it to grpc::Status.
#include <cerrno>
#include <string>
#include <utility>

namespace smartvm {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == 0; }
  explicit operator bool() const { return isOk(); }
  /// Positive errno value; 0 on success.
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "message (ENAME)" for logs and CLI output.
  std::string toString() const;

 private:
  int code_ = 0;
  std::string message_;
};

/// Builds a failed Status from an errno value and a message.
inline Status error(int code, std::string message) { return Status(code, std::move(message)); }
/// Builds a failed Status from the current errno, prefixed with what was being done.
Status errnoStatus(const std::string& what);

/// Name of an errno value ("EINVAL"), or the number as text.
const char* errnoName(int code);

}  // namespace smartvm

#define SMARTVM_TRY(expr)                         \
  do {                                            \
    ::smartvm::Status smartvm_try_s_ = (expr);    \
    if (!smartvm_try_s_.isOk()) return smartvm_try_s_; \
  } while (0)
