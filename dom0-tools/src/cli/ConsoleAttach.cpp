#include "smartvm/dom0/cli/ConsoleAttach.h"

#include <unistd.h>

#include <atomic>

#include "smartvm/dom0/cli/RawTerminal.h"

namespace smartvm::dom0 {

ConsoleAttach::End ConsoleAttach::run(const std::string& domain, grpc::Status& status) {
  v1::ReadConsoleRequest request;
  request.mutable_domain()->set_id(domain);
  request.set_follow(true);
  grpc::ClientContext ctx;
  std::atomic<int> stopped{-1};  // a ConsoleInput::Stop, once input has ended the attach
  const bool terminal = options_.inputFd >= 0 && ::isatty(options_.inputFd);
  // Input first, then the raw terminal: its signal handlers are in place before
  // the terminal changes, and the terminal is restored before they go.
  ConsoleInput input(stub_, {domain, options_.inputFd, terminal, options_.detachOnSignals},
                     [&](ConsoleInput::Stop why) {
                       stopped.store(static_cast<int>(why));
                       ctx.TryCancel();
                     });
  const RawTerminal raw(terminal ? options_.inputFd : -1);
  auto reader = stub_.ReadConsole(&ctx, request);
  v1::ConsoleChunk chunk;
  bool gone = false;
  while (reader->Read(&chunk)) {
    out_.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    out_.flush();
    gone = gone || chunk.domain_gone();
  }
  status = reader->Finish();
  input.stop();
  if (gone) return End::DomainGone;
  if (stopped.load() == static_cast<int>(ConsoleInput::Stop::Detached)) return End::Detached;
  if (stopped.load() == static_cast<int>(ConsoleInput::Stop::Failed)) {
    status = input.failure();
    return End::Failed;
  }
  return status.ok() ? End::DomainGone : End::Failed;
}

}  // namespace smartvm::dom0
