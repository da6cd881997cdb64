// smartvm-blk-bench: a gnuplot bar chart of PV block as a percentage of the
// direct figure, one bar per measure, with its goal beside it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "BlkBenchReport.h"

namespace smartvm::blkbench {

std::string Report::plot(const std::string& dir) const {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cout << "plot: gnuplot not found on PATH, no PNG written (apt-get install gnuplot-nox)\n";
    return "";
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string dat = dir + "/blk-bench.dat", gp = dir + "/blk-bench.gp", png = dir + "/blk-bench.png";
  {
    std::ofstream d(dat);
    d << "# measure pv_pct goal_pct\n";
    for (const Row& r : rows_) d << '"' << r.measure.label() << "\" " << 100 * r.ratio() << " " << 100 * r.measure.goal << "\n";
    std::ofstream g(gp);
    g << "set terminal pngcairo size 900,450 font ',10'\n"
      << "set output '" << png << "'\n"
      << "set title 'PV block in a guest as % of qemu-img bench on the same image'\n"
      << "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
      << "set ylabel '% of direct'\nset yrange [0:100]\nset grid ytics\nset key top left\n"
      << "plot '" << dat << "' using 2:xtic(1) title 'PV block', '' using 3 title 'goal'\n";
  }
  const std::string cmd = "gnuplot '" + gp + "' 2>&1";
  if (const int rc = std::system(cmd.c_str()); rc != 0) {
    std::cout << "plot: gnuplot failed on " << gp << " (status " << rc << "), no PNG\n";
    return "";
  }
  return png;
}

}  // namespace smartvm::blkbench
