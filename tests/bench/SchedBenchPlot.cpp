// smartvm-sched-bench: gnuplot bar charts. Two panels per job: the parallel
// tasks' completion time (mean over VMs) and the makespan, clustered by setting, one bar per policy.
#include "SchedBenchPlot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "SchedBenchJobs.h"

namespace smartvm::schedbench {

std::string Plotter::findGnuplot() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string p = (d.empty() ? "." : d) + "/gnuplot";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

std::vector<std::string> Plotter::plot(const Report& report) const {
  const std::string gnuplot = findGnuplot();
  if (gnuplot.empty()) {
    std::cout << "plot: gnuplot not found on PATH, no PNG written (apt-get install gnuplot-nox)\n";
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(outDir_, ec);
  if (ec) {
    std::cout << "plot: cannot create " << outDir_ << ": " << ec.message() << ", no PNG written\n";
    return {};
  }
  std::vector<std::string> written;
  for (const auto& job : report.jobs()) {
    bool any = false;
    for (const auto& r : report.samples()) any |= r.job == job;
    if (!any) continue;  // nothing measured (a run failed before it)
    if (std::string png = plotJob(report, job, gnuplot); !png.empty()) written.push_back(png);
  }
  return written;
}

std::string Plotter::plotJob(const Report& report, const std::string& job, const std::string& gnuplot) const {
  namespace fs = std::filesystem;
  const fs::path base = fs::path(outDir_) / ("sched-" + job);
  const std::string dat = base.string() + ".dat", gp = base.string() + ".gp", png = base.string() + ".png";
  const auto& policies = report.policies();
  {
    std::ofstream d(dat);
    d << "# setting";
    for (const auto& p : policies) d << "\t" << p << "_mean";
    for (const auto& p : policies) d << "\t" << p << "_makespan";
    d << "\n";
    for (const Setting& s : report.settings()) {
      d << "\"" << s.vms << "x" << s.vcpus << "\"";
      for (const auto& p : policies) {
        const double v = report.cell(job, s, p).parallelS;
        d << "\t" << (std::isnan(v) ? 0 : v);
      }
      for (const auto& p : policies) {
        const double v = report.cell(job, s, p).makespanS;
        d << "\t" << (std::isnan(v) ? 0 : v);
      }
      d << "\n";
    }
  }
  const JobSpec* spec = findJob(job);
  {
    std::ofstream g(gp);
    g << "set terminal pngcairo size 1100,450 font ',10'\n"
      << "set output '" << png << "'\n"
      << "set datafile separator '\\t'\n"
      << "set termoption noenhanced\n"
      << "set style data histogram\nset style histogram clustered gap 1\n"
      << "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
      << "set key top left\nset grid ytics\nset yrange [0:*]\n"
      << "set xlabel 'VMs x vCPUs per VM'\nset ylabel 'seconds'\n"
      << "set multiplot layout 1,2 title '" << job << ": credit vs parallel scheduling (target "
      << (spec ? spec->targetPct : 0) << "% shorter)'\n";
    const size_t n = policies.size();
    for (int panel = 0; panel < 2; ++panel) {
      g << "set title '" << (panel == 0 ? "completion time of the parallel tasks, mean per VM (guest parallel_ns)" : "makespan (last VM done, host)")
        << "'\nplot ";
      for (size_t i = 0; i < n; ++i) {
        const size_t col = 2 + i + (panel == 0 ? 0 : n);
        g << (i ? ", " : "") << "'" << dat << "' using " << col << ":xtic(1) title '" << policies[i] << "'";
      }
      g << "\n";
    }
    g << "unset multiplot\n";
  }
  const std::string cmd = "'" + gnuplot + "' '" + gp + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0 || !fs::exists(png)) {
    std::cout << "plot: gnuplot failed on " << gp << " (status " << rc << "), no PNG for " << job << "\n";
    return {};
  }
  return png;
}

}  // namespace smartvm::schedbench
