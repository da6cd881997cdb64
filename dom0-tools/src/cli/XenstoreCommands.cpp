#include "smartvm/dom0/cli/XenstoreCommands.h"

#include <fmt/format.h>

#include <cstring>

namespace smartvm::dom0 {

using xenstore::XenstoreClient;

std::string XenstoreCommands::escape(const std::string& value) {
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(ch);
        } else {
          out += fmt::format("\\{:03o}", c);
        }
    }
  }
  return out;
}

std::string XenstoreCommands::describe(const std::string& path, const Status& s) {
  switch (s.code()) {
    case ENOENT: return path + ": no such node";
    case EACCES:
    case EPERM: return path + ": permission denied";
    case EINVAL: return path + ": invalid path or value";
    case EEXIST: return path + ": already exists";
    case ENOSPC:
    case EDQUOT: return path + ": xenstore quota exceeded";
    case E2BIG: return path + ": too big for a xenstore message";
    default: return path + ": " + s.message();
  }
}

int XenstoreCommands::fail(const std::string& message) {
  err_ << "smartvm: " << message << '\n';
  return 1;
}

int XenstoreCommands::run(const CliCommand& cmd) {
  auto xs = XenstoreClient::connect(cmd.xenstored);
  if (!xs) return fail(xs.status().message());
  switch (cmd.verb) {
    case CliVerb::XenstoreLs: return ls(*xs, cmd);
    case CliVerb::XenstoreRead: return read(*xs, cmd);
    case CliVerb::XenstoreWrite: return write(*xs, cmd);
    case CliVerb::XenstoreRm: return rm(*xs, cmd);
    case CliVerb::XenstoreList: return list(*xs, cmd);
    case CliVerb::XenstoreWatch: return watch(*xs, cmd);
    default: return fail("not a xenstore command");
  }
}

int XenstoreCommands::ls(XenstoreClient& xs, const CliCommand& cmd) {
  const std::string path = cmd.xsArgs.empty() ? "/" : cmd.xsArgs.front();
  // Like xenstore-ls: the node itself is not printed, its children are, from the left margin.
  auto top = xs.directory(path);
  if (!top) return fail(describe(path, top.status()));
  if (!lsTree(xs, path, 0, cmd.xsPerms)) return 1;
  out_ << std::flush;
  return 0;
}

bool XenstoreCommands::lsTree(XenstoreClient& xs, const std::string& path, int depth, bool perms) {
  auto children = xs.directory(path);
  if (!children) {
    // A node removed while we walk is no error: xenstore-ls skips it too.
    if (children.status().code() == ENOENT) return true;
    fail(describe(path, children.status()));
    return false;
  }
  for (const std::string& name : *children) {
    const std::string child = path == "/" ? "/" + name : path + "/" + name;
    auto value = xs.read(child);
    if (!value && value.status().code() == ENOENT) continue;
    out_ << std::string(static_cast<size_t>(depth), ' ') << name << " = \""
         << (value ? escape(*value) : std::string()) << '"';
    if (perms) {
      auto p = xs.getPerms(child);
      if (p) {
        std::string joined;
        for (const auto& one : *p) joined += (joined.empty() ? "" : ",") + one;
        out_ << "  (" << joined << ')';
      }
    }
    out_ << '\n';
    if (!lsTree(xs, child, depth + 1, perms)) return false;
  }
  return true;
}

int XenstoreCommands::read(XenstoreClient& xs, const CliCommand& cmd) {
  for (const std::string& path : cmd.xsArgs) {
    auto value = xs.read(path);
    if (!value) return fail(describe(path, value.status()));
    out_ << *value << '\n';
  }
  out_ << std::flush;
  return 0;
}

int XenstoreCommands::write(XenstoreClient& xs, const CliCommand& cmd) {
  for (size_t i = 0; i + 1 < cmd.xsArgs.size(); i += 2) {
    if (Status s = xs.write(cmd.xsArgs[i], cmd.xsArgs[i + 1]); !s.isOk()) return fail(describe(cmd.xsArgs[i], s));
  }
  return 0;
}

int XenstoreCommands::rm(XenstoreClient& xs, const CliCommand& cmd) {
  for (const std::string& path : cmd.xsArgs) {
    if (Status s = xs.rm(path); !s.isOk()) return fail(describe(path, s));
  }
  return 0;
}

int XenstoreCommands::list(XenstoreClient& xs, const CliCommand& cmd) {
  const std::string& path = cmd.xsArgs.front();
  auto children = xs.directory(path);
  if (!children) return fail(describe(path, children.status()));
  for (const std::string& name : *children) out_ << name << '\n';
  out_ << std::flush;
  return 0;
}

int XenstoreCommands::watch(XenstoreClient& xs, const CliCommand& cmd) {
  const std::string& path = cmd.xsArgs.front();
  if (Status s = xs.watch(path, "smartvm"); !s.isOk()) return fail(describe(path, s));
  int64_t seen = 0;
  while (!cmd.watchCount || seen < *cmd.watchCount) {
    if (stopped_ && stopped_()) break;
    auto ev = xs.waitEvent(std::chrono::milliseconds(200));
    if (!ev) {
      if (ev.status().code() == ETIMEDOUT) continue;
      return fail(ev.status().message());
    }
    out_ << ev->path << '\n' << std::flush;  // at once: the reader may be a pipe waiting for this line
    ++seen;
  }
  return 0;
}

}  // namespace smartvm::dom0
