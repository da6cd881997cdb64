#include "smartvm/dom0/cli/CliArgs.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace smartvm::dom0 {
namespace {

/// How `console` (and `create -c`) treats the keyboard, as xl console does.
constexpr const char* kConsoleFooter =
    "Prints the guest's console from its first buffered byte, then live, until the domain is gone\n"
    "(exit 0). Keys go to the guest: from a terminal in raw mode, every key, Ctrl-C included;\n"
    "Ctrl-] detaches and leaves the domain running. Input that is not a terminal (a pipe, a file)\n"
    "is sent as it is until its end, then output keeps coming:\n"
    "  printf 'hello\\r' | smartvm console web\n"
    "SIGINT, SIGTERM and SIGHUP detach too; the terminal gets its mode back either way.";

/// A subcommand and the verb it stands for.
struct Verb {
  CLI::App* app;
  CliVerb verb;
};

CLI::App* addVerb(CLI::App& app, std::vector<Verb>& verbs, CliVerb verb, const char* name, const char* what) {
  CLI::App* sub = app.add_subcommand(name, what);
  sub->fallthrough();
  verbs.push_back({sub, verb});
  return sub;
}

void addDomain(CLI::App* sub, CliCommand& cmd) {
  sub->add_option("domain", cmd.domain, "domain name or domid")->required();
}

void addShutdownFlags(CLI::App* sub, CliCommand& cmd) {
  sub->add_flag("-w,--wait", cmd.wait, "wait until the domain has shut down");
  sub->add_flag("-F,--force", cmd.force, "power off at once if the guest has no PV shutdown interface");
  addDomain(sub, cmd);
}

/// A vCPU argument: a number or "all".
std::string checkVcpu(const std::string& text) {
  if (text == "all") return "";
  if (!text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos) return "";
  return "'" + text + "' is not a vCPU number or 'all'";
}

/// A whole number, optionally negative (the hypervisor judges the range).
std::string checkInteger(const std::string& text) {
  const size_t digits = text.rfind('-', 0) == 0 ? 1 : 0;
  if (text.size() > digits && text.size() <= 18 + digits &&
      text.find_first_not_of("0123456789", digits) == std::string::npos) {
    return "";
  }
  return "'" + text + "' is not a whole number";
}

/// An integer option; its value is set only when given.
CLI::Option* addNumber(CLI::App* sub, const char* names, std::optional<int64_t>& value, const char* what) {
  return sub->add_option(names, value, what)->check(CLI::Validator(checkInteger, "INT"));
}

/// The options xl sched-credit has; sched-parallel adds its own.
void addSchedFlags(CLI::App* sub, CliCommand& cmd) {
  sub->add_option("-d,--domain", cmd.domain, "the domain (name or domid); without it, every domain");
  addNumber(sub, "-w,--weight", cmd.weight, "set the domain's weight (1..65535; 256 is the default)");
  addNumber(sub, "-c,--cap", cmd.cap, "set the domain's cap: percent of one pCPU, 0 = none");
  sub->add_flag("-s,--schedparam", cmd.schedGlobal, "show the policy's global parameters");
  addNumber(sub, "-t,--tslice_ms", cmd.tsliceMs, "set the time slice, in ms");
  addNumber(sub, "-r,--ratelimit_us", cmd.ratelimitUs, "set the least time a vCPU runs before preemption, in us");
}

void addSchedVerbs(CLI::App& app, std::vector<Verb>& verbs, CliCommand& cmd) {
  addSchedFlags(addVerb(app, verbs, CliVerb::SchedCredit, "sched-credit",
                        "show or set credit scheduler parameters (xl sched-credit)"),
                cmd);
  CLI::App* par = addVerb(app, verbs, CliVerb::SchedParallel, "sched-parallel",
                          "show or set the parallel scheduler's parameters (credit's plus gang scheduling)");
  addSchedFlags(par, cmd);
  par->add_option("--concurrent", cmd.concurrent, "1: gang-schedule the domain's vCPUs, 0: do not")
      ->check(CLI::IsMember({"0", "1"}));
  addNumber(par, "-g,--gang_slice_ms", cmd.gangSliceMs, "set the gang time slice, in ms (1..1000)");
  addNumber(par, "-G,--gang_share", cmd.gangShare, "set the share of time for gangs, in percent (1..100)");
  CLI::App* pin = addVerb(app, verbs, CliVerb::VcpuPin, "vcpu-pin", "set vCPUs' hard affinity (xl vcpu-pin)");
  addDomain(pin, cmd);
  pin->add_option("vcpu", cmd.vcpu, "a vCPU number or 'all'")->required()->check(CLI::Validator(checkVcpu, "VCPU"));
  pin->add_option("cpus", cmd.cpus, "pCPUs in xl's CPU-list syntax: all, 0-3, ^2, 1,3")->required();
  CLI::App* vcpus = addVerb(app, verbs, CliVerb::VcpuList, "vcpu-list", "list vCPUs (xl vcpu-list)");
  vcpus->add_option("domains", cmd.domains, "only these domains (names or domids)");
}

/// What CLI11 cannot say: the sched-* options that do not go together (as xl words it).
std::string checkSchedArgs(const CLI::App& sub, const CliCommand& cmd) {
  const bool domainGiven = sub.count("-d") > 0;
  if (domainGiven && cmd.domain.empty()) return "-d needs a domain name or domid";
  if (cmd.schedGlobalScope() && (domainGiven || cmd.setsDomainParams())) {
    return "the global parameters (-s, -t, -r, -g, -G) and a domain's (-d, -w, -c, --concurrent) do not mix";
  }
  if (!domainGiven && cmd.setsDomainParams()) return "setting -w, -c or --concurrent needs a domain (-d DOM)";
  return "";
}

void addXenstoreVerbs(CLI::App& app, std::vector<Verb>& verbs, CliCommand& cmd) {
  CLI::App* ls = addVerb(app, verbs, CliVerb::XenstoreLs, "xenstore-ls",
                         "print a xenstore subtree with values, one level of indent per depth (Xen's xenstore-ls)");
  ls->add_option("path", cmd.xsArgs, "the subtree (default /)")->expected(0, 1);
  ls->add_flag("-p", cmd.xsPerms, "show each node's permissions");
  CLI::App* read = addVerb(app, verbs, CliVerb::XenstoreRead, "xenstore-read", "print xenstore values, one a line");
  read->add_option("path", cmd.xsArgs, "nodes to read")->required();
  CLI::App* write =
      addVerb(app, verbs, CliVerb::XenstoreWrite, "xenstore-write", "write xenstore values (missing parents are made)");
  write->add_option("path-value", cmd.xsArgs, "PATH VALUE [PATH VALUE...]")->required();
  CLI::App* rm = addVerb(app, verbs, CliVerb::XenstoreRm, "xenstore-rm", "remove xenstore nodes and everything below");
  rm->add_option("path", cmd.xsArgs, "nodes to remove")->required();
  CLI::App* list = addVerb(app, verbs, CliVerb::XenstoreList, "xenstore-list", "print a node's children, one a line");
  list->add_option("path", cmd.xsArgs, "the node")->required()->expected(1);
  CLI::App* watch = addVerb(app, verbs, CliVerb::XenstoreWatch, "xenstore-watch",
                            "print the path of each change at or below PATH (the first comes at once) until Ctrl-C");
  watch->add_option("path", cmd.xsArgs, "the node to watch (or @introduceDomain, @releaseDomain)")
      ->required()
      ->expected(1);
  watch->add_option("-n", cmd.watchCount, "stop after this many events")->check(CLI::PositiveNumber);
}

void addDiskVerbs(CLI::App& app, std::vector<Verb>& verbs, CliCommand& cmd) {
  CLI::App* attach = addVerb(app, verbs, CliVerb::BlockAttach, "block-attach",
                             "hot-plug a PV disk into a domain (xl block-attach); silent on success");
  addDomain(attach, cmd);
  attach->add_option("disk-spec", cmd.diskSpec, "the disk in xl's syntax (xl.cfg's disk = [...]); words are joined "
                                                "with ','")
      ->required();
  attach->footer(
      "Examples:\n"
      "  smartvm block-attach web format=raw,vdev=xvdb,access=rw,target=/var/lib/smartvm/data.raw\n"
      "  smartvm block-attach web /var/lib/smartvm/data.qcow2,qcow2,xvdc,ro\n"
      "A relative target is taken from the current directory. smartvm-blkback must run: the\n"
      "command returns once it has opened the image, or with its reason for refusing it.");
  CLI::App* detach = addVerb(app, verbs, CliVerb::BlockDetach, "block-detach",
                             "unplug a PV disk from a domain (xl block-detach); silent on success");
  addDomain(detach, cmd);
  detach->add_option("vdev", cmd.vdev, "the disk: its vdev (xvdb) or device number (51728, block-list's Vdev)")
      ->required();
  CLI::App* list = addVerb(app, verbs, CliVerb::BlockList, "block-list",
                           "list domains' PV disks: xl's columns, then backend state, vdev, access and image");
  list->add_option("domains", cmd.domains, "the domains (names or domids)")->required();
}

std::vector<Verb> addVerbs(CLI::App& app, CliCommand& cmd) {
  std::vector<Verb> verbs;
  CLI::App* create = addVerb(app, verbs, CliVerb::Create, "create", "create a domain from an xl config file");
  create->add_option("config", cmd.configFile, "xl config file")->required();
  create->add_option("overrides", cmd.overrides, "key=value settings in xl syntax, applied after the file");
  create->add_flag("-c", cmd.attachConsole, "attach to the console after creating (as 'console': Ctrl-] detaches)");
  create->add_flag("-p", cmd.startPaused, "leave the domain paused");
  CLI::App* list = addVerb(app, verbs, CliVerb::List, "list", "list domains (xl list)");
  list->add_flag("-l,--long", cmd.longFormat, "print JSON with everything known about each domain");
  list->add_option("domains", cmd.domains, "only these domains (names or domids)");
  CLI::App* console =
      addVerb(app, verbs, CliVerb::Console, "console", "attach to a domain's console (xl console); detach with Ctrl-]");
  addDomain(console, cmd);
  console->footer(kConsoleFooter);
  addDomain(addVerb(app, verbs, CliVerb::Pause, "pause", "pause a domain"), cmd);
  addDomain(addVerb(app, verbs, CliVerb::Unpause, "unpause", "unpause a domain"), cmd);
  addDomain(addVerb(app, verbs, CliVerb::Destroy, "destroy", "destroy a domain at once"), cmd);
  addShutdownFlags(addVerb(app, verbs, CliVerb::Shutdown, "shutdown", "ask a domain to power off"), cmd);
  addShutdownFlags(addVerb(app, verbs, CliVerb::Reboot, "reboot", "ask a domain to reboot"), cmd);
  addVerb(app, verbs, CliVerb::Info, "info", "show host and hypervisor information (xl info)");
  CLI::App* dmesg = addVerb(app, verbs, CliVerb::Dmesg, "dmesg", "print the hypervisor's message log");
  dmesg->add_flag("-c,--clear", cmd.clear, "clear the log after printing it");
  addDomain(addVerb(app, verbs, CliVerb::EvtchnList, "evtchn-list", "list a domain's event channel ports"), cmd);
  CLI::App* keys = addVerb(app, verbs, CliVerb::DebugKeys, "debug-keys",
                           "send debug keys to the hypervisor (q: VIRQ_DEBUG to every guest vCPU); see dmesg");
  keys->add_option("keys", cmd.keys, "the keys, e.g. q")->required();
  addSchedVerbs(app, verbs, cmd);
  addXenstoreVerbs(app, verbs, cmd);
  addDiskVerbs(app, verbs, cmd);
  return verbs;
}

/// CLI11's error as one line, pointing at the right --help.
std::string usageError(const CLI::App& app, const CLI::ParseError& e) {
  const auto selected = app.get_subcommands();
  const std::string help = selected.empty() ? "smartvm --help" : "smartvm " + selected.front()->get_name() + " --help";
  // CLI11 words a mistyped command as "A subcommand is required"; name the word instead.
  const auto extra = app.remaining();
  if (selected.empty() && !extra.empty())
    return "smartvm: unknown command '" + extra.front() + "' (see '" + help + "')\n";
  return "smartvm: " + std::string(e.what()) + " (see '" + help + "')\n";
}

}  // namespace

CliArgs parseCliArgs(int argc, const char* const* argv, const char* envConnect, const char* envXenstored) {
  CliCommand cmd;
  if (envConnect != nullptr && *envConnect != '\0') cmd.connect = envConnect;
  if (envXenstored != nullptr && *envXenstored != '\0') cmd.xenstored = envXenstored;
  CLI::App app{"smartvm: manage Smart-VM domains through smartvmd, in the style of xl.", "smartvm"};
  app.add_option("--connect", cmd.connect, "smartvmd's address: unix:/path or host:port ($SMARTVM_CONNECT)")
      ->capture_default_str();
  app.add_option("--xenstored-socket", cmd.xenstored,
                 "smartvm-xenstored's socket, for the xenstore-* commands ($SMARTVM_XENSTORED_SOCKET)")
      ->capture_default_str();
  app.require_subcommand(1);
  const std::vector<Verb> verbs = addVerbs(app, cmd);
  CliArgs result;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::ostringstream out, err;
    app.exit(e, out, err);
    result.out = out.str();
    return result;
  } catch (const CLI::ParseError& e) {
    result.exitCode = 1;
    result.err = usageError(app, e);
    return result;
  }
  for (const Verb& v : verbs) {
    if (!v.app->parsed()) continue;
    cmd.verb = v.verb;
    if (v.verb == CliVerb::XenstoreWrite && cmd.xsArgs.size() % 2 != 0) {
      result.exitCode = 1;
      result.err = "smartvm: xenstore-write takes PATH VALUE pairs; '" + cmd.xsArgs.back() +
                   "' has no value (see 'smartvm xenstore-write --help')\n";
      return result;
    }
    if (v.verb != CliVerb::SchedCredit && v.verb != CliVerb::SchedParallel) continue;
    if (const std::string problem = checkSchedArgs(*v.app, cmd); !problem.empty()) {
      result.exitCode = 1;
      result.err = "smartvm: " + problem + " (see 'smartvm " + v.app->get_name() + " --help')\n";
      return result;
    }
  }
  result.command = std::move(cmd);
  return result;
}

}  // namespace smartvm::dom0
