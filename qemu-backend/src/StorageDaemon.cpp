#include "smartvm/qemu/StorageDaemon.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "smartvm/Log.h"

extern char** environ;

namespace smartvm::qemu {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

bool nodeNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

}  // namespace

StorageDaemon::StorageDaemon(Options o) : opt_(std::move(o)) {}

StorageDaemon::~StorageDaemon() { stop(); }

Status StorageDaemon::validate(const ExportSpec& e) {
  // QEMU's rule for node names (id_wellformed), with its 31-character limit.
  if (e.id.empty() || e.id.size() > 31) return error(EINVAL, "export id must be 1 to 31 characters: '" + e.id + "'");
  if (!((e.id[0] >= 'a' && e.id[0] <= 'z') || (e.id[0] >= 'A' && e.id[0] <= 'Z')))
    return error(EINVAL, "export id must start with a letter: '" + e.id + "'");
  if (!std::all_of(e.id.begin(), e.id.end(), nodeNameChar))
    return error(EINVAL, "export id may hold only letters, digits, '-', '.' and '_': '" + e.id + "'");
  if (e.format != "raw" && e.format != "qcow2")
    return error(EINVAL, "disk format '" + e.format + "' is not supported (raw or qcow2)");
  struct stat st {};
  if (::stat(e.path.c_str(), &st) != 0) return error(errno, "disk image " + e.path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return error(EINVAL, "disk image " + e.path + " is neither a file nor a block device");
  if (::access(e.path.c_str(), e.readOnly ? R_OK : (R_OK | W_OK)) != 0)
    return error(errno, "disk image " + e.path + (e.readOnly ? " is not readable" : " is not writable") + ": " +
                            std::strerror(errno));
  return Status::ok();
}

Status StorageDaemon::start() {
  if (pid_ > 0 && alive()) return Status::ok();
  if (opt_.runDir.empty()) return error(EINVAL, "storage daemon needs a run directory");
  if (::mkdir(opt_.runDir.c_str(), 0700) != 0 && errno != EEXIST)
    return error(errno, "cannot create " + opt_.runDir + ": " + std::strerror(errno));
  SMARTVM_TRY(spawn());
  auto q = QmpClient::connect(qmpSocket(), opt_.startTimeout);
  if (!q.isOk()) {
    const std::string tail = logTail();
    stop();
    return error(q.status().code(), "qemu-storage-daemon did not come up: " + q.status().message() +
                                        (tail.empty() ? "" : "; its log says: " + tail));
  }
  qmp_.emplace(std::move(q).value());
  return Status::ok();
}

Status StorageDaemon::spawn() {
  ::unlink(qmpSocket().c_str());
  ::unlink(nbdSocket().c_str());
  const std::vector<std::string> args = {
      opt_.binary,
      "--chardev", "socket,id=qmp0,path=" + qmpSocket() + ",server=on,wait=off",
      "--monitor", "chardev=qmp0",
      "--nbd-server", "addr.type=unix,addr.path=" + nbdSocket(),
  };
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logPath().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  // A daemon of its own process group: a terminal's ^C to dom0 tools does not
  // take the disks down with them.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, opt_.binary.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return error(rc, "cannot start " + opt_.binary + ": " + std::strerror(rc) +
                         (rc == ENOENT ? " (install qemu-system-common: scripts/install-deps.sh)" : ""));
  }
  pid_ = pid;
  spdlog::info("qemu-storage-daemon started (pid {}, {})", pid_, opt_.runDir);
  return Status::ok();
}

Status StorageDaemon::exportOne(const ExportSpec& e) {
  if (!qmp_) return error(ENOTCONN, "storage daemon is not running");
  Json file = {{"driver", "file"}, {"filename", e.path}, {"discard", "unmap"}};
  Json node = {{"node-name", e.id}, {"driver", e.format}, {"read-only", e.readOnly}, {"discard", "unmap"},
               {"file", file}};
  if (auto r = qmp_->execute("blockdev-add", node); !r.isOk()) return r.status();
  Json exp = {{"type", "nbd"}, {"id", e.id}, {"node-name", e.id}, {"name", e.id}, {"writable", !e.readOnly}};
  if (auto r = qmp_->execute("block-export-add", exp); !r.isOk()) {
    (void)qmp_->execute("blockdev-del", {{"node-name", e.id}});
    return r.status();
  }
  return Status::ok();
}

Status StorageDaemon::addExport(const ExportSpec& e) {
  SMARTVM_TRY(validate(e));
  if (std::any_of(exports_.begin(), exports_.end(), [&](const ExportSpec& x) { return x.id == e.id; }))
    return error(EEXIST, "export '" + e.id + "' exists already");
  SMARTVM_TRY(ensureRunning());
  SMARTVM_TRY(exportOne(e));
  exports_.push_back(e);
  return Status::ok();
}

Status StorageDaemon::removeExport(const std::string& id) {
  auto it = std::find_if(exports_.begin(), exports_.end(), [&](const ExportSpec& x) { return x.id == id; });
  if (it == exports_.end()) return error(ENOENT, "no export '" + id + "'");
  exports_.erase(it);
  if (!qmp_ || !alive()) return Status::ok();  // nothing left to close
  if (auto r = qmp_->execute("block-export-del", {{"id", id}, {"mode", "hard"}}); !r.isOk()) return r.status();
  // The export lets go of its node asynchronously (BLOCK_EXPORT_DELETED).
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto r = qmp_->execute("blockdev-del", {{"node-name", id}});
    if (r.isOk()) return Status::ok();
    if (Clock::now() >= deadline) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void StorageDaemon::reap(bool wait) {
  if (pid_ <= 0) return;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, wait ? 0 : WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    if (r == pid_)
      spdlog::warn("qemu-storage-daemon (pid {}) {} {}", pid_, WIFSIGNALED(st) ? "killed by signal" : "exited with",
                   WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    pid_ = -1;
    qmp_.reset();
  }
}

bool StorageDaemon::alive() {
  reap(false);
  return pid_ > 0;
}

Status StorageDaemon::ensureRunning() {
  if (alive() && qmp_) {
    // A process that was just killed can still look alive for a moment (its
    // sockets close before it becomes a zombie): ask it.
    if (qmp_->execute("query-version", Json::object(), std::chrono::milliseconds(2000)).isOk()) return Status::ok();
    spdlog::warn("qemu-storage-daemon (pid {}) stopped answering QMP", pid_);
    qmp_.reset();
  }
  const bool restart = !exports_.empty();
  if (pid_ > 0) stop();  // running but its monitor is gone: start afresh
  SMARTVM_TRY(start());
  if (restart) {
    ++restarts_;
    spdlog::warn("qemu-storage-daemon restarted with {} export(s)", exports_.size());
  }
  for (const ExportSpec& e : exports_) {
    if (Status s = exportOne(e); !s.isOk()) return error(s.code(), "re-exporting " + e.id + ": " + s.message());
  }
  return Status::ok();
}

void StorageDaemon::stop() {
  if (pid_ <= 0) return;
  const bool asked = qmp_ && qmp_->execute("quit", Json::object(), std::chrono::milliseconds(1000)).isOk();
  if (!asked) ::kill(pid_, SIGTERM);
  qmp_.reset();
  const auto deadline = Clock::now() + std::chrono::seconds(asked ? 3 : 1);
  while (alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

std::string StorageDaemon::logTail() const {
  std::ifstream in(logPath());
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > 400) all = all.substr(all.size() - 400);
  while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
  return all;
}

}  // namespace smartvm::qemu
