#include "smartvm/dom0/cli/CliArgs.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace smartvm::dom0 {
namespace {

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

std::vector<Verb> addVerbs(CLI::App& app, CliCommand& cmd) {
  std::vector<Verb> verbs;
  CLI::App* create = addVerb(app, verbs, CliVerb::Create, "create", "create a domain from an xl config file");
  create->add_option("config", cmd.configFile, "xl config file")->required();
  create->add_option("overrides", cmd.overrides, "key=value settings in xl syntax, applied after the file");
  create->add_flag("-c", cmd.attachConsole, "attach to the console after creating");
  create->add_flag("-p", cmd.startPaused, "leave the domain paused");
  CLI::App* list = addVerb(app, verbs, CliVerb::List, "list", "list domains (xl list)");
  list->add_flag("-l,--long", cmd.longFormat, "print JSON with everything known about each domain");
  list->add_option("domains", cmd.domains, "only these domains (names or domids)");
  addDomain(addVerb(app, verbs, CliVerb::Console, "console", "print the console; detach with Ctrl-]"), cmd);
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

CliArgs parseCliArgs(int argc, const char* const* argv, const char* envConnect) {
  CliCommand cmd;
  if (envConnect != nullptr && *envConnect != '\0') cmd.connect = envConnect;
  CLI::App app{"smartvm: manage Smart-VM domains through smartvmd, in the style of xl.", "smartvm"};
  app.add_option("--connect", cmd.connect, "smartvmd's address: unix:/path or host:port ($SMARTVM_CONNECT)")
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
    if (v.app->parsed()) cmd.verb = v.verb;
  }
  result.command = std::move(cmd);
  return result;
}

}  // namespace smartvm::dom0
