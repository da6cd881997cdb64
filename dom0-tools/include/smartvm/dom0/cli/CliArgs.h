#pragma once
// The `smartvm` command line (xl's subcommands), parsed into a CliCommand.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smartvm::dom0 {

enum class CliVerb {
  Create, List, Console, Pause, Unpause, Destroy, Shutdown, Reboot, Info, Dmesg, EvtchnList, DebugKeys,
  SchedCredit, SchedParallel, VcpuPin, VcpuList,
  // Xen's xenstore-* tools, talking to smartvm-xenstored directly (XenstoreCommands).
  XenstoreLs, XenstoreRead, XenstoreWrite, XenstoreRm, XenstoreList, XenstoreWatch,
  // PV disks (CliRunnerDisks.cpp).
  BlockAttach, BlockDetach, BlockList
};

/// One parsed invocation; fields not used by the verb keep their defaults.
struct CliCommand {
  static constexpr const char* kDefaultConnect = "unix:/run/smartvm/smartvmd.sock";
  static constexpr const char* kDefaultXenstored = "/run/smartvm/xenstored.sock";

  std::string connect = kDefaultConnect;  ///< smartvmd's address (gRPC target)
  CliVerb verb = CliVerb::List;
  std::string configFile;              ///< create
  std::vector<std::string> overrides;  ///< create: key=value after the file
  bool attachConsole = false;          ///< create -c
  bool startPaused = false;            ///< create -p
  bool longFormat = false;             ///< list -l
  std::vector<std::string> domains;    ///< list [DOM...], vcpu-list [DOM...]
  /// console, pause, unpause, destroy, shutdown, reboot, evtchn-list, vcpu-pin;
  /// sched-credit/sched-parallel -d ("" = every domain)
  std::string domain;
  std::string keys;                    ///< debug-keys
  bool wait = false;                   ///< shutdown/reboot -w
  bool force = false;                  ///< shutdown/reboot -F
  bool clear = false;                  ///< dmesg -c
  // sched-credit / sched-parallel: a domain's parameters (with -d) ...
  std::optional<int64_t> weight;       ///< -w
  std::optional<int64_t> cap;          ///< -c
  std::optional<int64_t> concurrent;   ///< sched-parallel --concurrent 0|1
  // ... or the policy's global ones.
  bool schedGlobal = false;            ///< -s: show the global parameters
  std::optional<int64_t> tsliceMs;     ///< -t
  std::optional<int64_t> ratelimitUs;  ///< -r
  std::optional<int64_t> gangSliceMs;  ///< sched-parallel -g
  std::optional<int64_t> gangShare;    ///< sched-parallel -G
  std::string vcpu;                    ///< vcpu-pin: a vCPU number or "all"
  std::string cpus;                    ///< vcpu-pin: xl CPU list
  // xenstore-*: paths (and values, for xenstore-write: path value path value ...)
  std::string xenstored = kDefaultXenstored;  ///< smartvm-xenstored's socket
  std::vector<std::string> xsArgs;
  bool xsPerms = false;                ///< xenstore-ls -p: each node's permissions
  std::optional<int64_t> watchCount;   ///< xenstore-watch -n: stop after this many events
  // block-attach DOM SPEC... / block-detach DOM VDEV / block-list DOM... (in `domains`)
  std::vector<std::string> diskSpec;   ///< block-attach: xl disk spec words, joined with ',' as xl does
  std::string vdev;                    ///< block-detach: xvdb or its device number

  /// sched-*: the global parameters are meant (-s, -t, -r, -g, -G).
  bool schedGlobalScope() const { return schedGlobal || tsliceMs || ratelimitUs || gangSliceMs || gangShare; }
  /// sched-*: some domain parameter is to be set (-w, -c, --concurrent).
  bool setsDomainParams() const { return weight || cap || concurrent; }
};

/// The outcome of parsing: a command to run, or text to print and an exit code
/// (0 for --help, 1 for a usage error with a one-line message on `err`).
struct CliArgs {
  std::optional<CliCommand> command;
  int exitCode = 0;
  std::string out;
  std::string err;
};

/// Parses `smartvm [--connect ADDR] COMMAND ...`. `envConnect` is $SMARTVM_CONNECT
/// (nullptr when unset): it replaces the default, and --connect replaces it.
/// `envXenstored` ($SMARTVM_XENSTORED_SOCKET) does the same for --xenstored-socket. Never throws.
CliArgs parseCliArgs(int argc, const char* const* argv, const char* envConnect, const char* envXenstored = nullptr);

}  // namespace smartvm::dom0
