#include "advisor/plots.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace topdog::advisor {
namespace {

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The markdown report's tables as HTML (its other lines as paragraphs and headings).
std::string MarkdownToHtml(const std::string& md) {
  std::istringstream in(md);
  std::string line, out;
  bool in_table = false, header = false;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) == 0) {
      if (line.find("---") != std::string::npos) continue;
      if (!in_table) {
        out += "<table>\n";
        in_table = true;
        header = true;
      }
      out += "<tr>";
      std::string cell;
      std::istringstream cells(line.substr(1));
      while (std::getline(cells, cell, '|')) {
        size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
        cell = a == std::string::npos ? "" : cell.substr(a, b - a + 1);
        out += header ? "<th>" + Escape(cell) + "</th>" : "<td>" + Escape(cell) + "</td>";
      }
      out += "</tr>\n";
      header = false;
      continue;
    }
    if (in_table) {
      out += "</table>\n";
      in_table = false;
    }
    if (line.rfind("## ", 0) == 0) {
      out += "<h2>" + Escape(line.substr(3)) + "</h2>\n";
    } else if (line.rfind("# ", 0) == 0) {
      out += "<h1>" + Escape(line.substr(2)) + "</h1>\n";
    } else if (!line.empty()) {
      out += "<p>" + Escape(line) + "</p>\n";
    }
  }
  if (in_table) out += "</table>\n";
  return out;
}

Result<void> WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.flush()) return MakeError(ErrorKind::kUnavailable, path + ": " + std::strerror(errno));
  return {};
}

Result<std::string> ReadSvg(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return MakeError(ErrorKind::kUnavailable, path + ": gnuplot wrote no plot");
  std::string svg((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  size_t start = svg.find("<svg");
  if (start == std::string::npos) return MakeError(ErrorKind::kUnavailable, path + ": not an SVG file");
  return svg.substr(start);  // without the XML declaration and doctype, to sit inside the page
}

// Runs gnuplot on `script` (no shell); its stderr goes to `log`.
Result<void> RunGnuplot(const std::string& script, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv = {const_cast<char*>("gnuplot"), const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return MakeError(ErrorKind::kUnavailable,
                     std::string("cannot run gnuplot (Debian package gnuplot-nox): ") + std::strerror(rc));
  }
  int status = 0;
  pid_t waited = 0;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0) return MakeError(ErrorKind::kUnavailable, std::string("waitpid: ") + std::strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(log);
    std::string first;
    std::getline(in, first);
    return MakeError(ErrorKind::kUnavailable, "gnuplot failed: " + first);
  }
  return {};
}

}  // namespace

Result<std::string> RenderHtmlReport(const BacktestResult& result, const ReportInfo& info) {
  std::error_code ec;
  std::string dir_template = (std::filesystem::temp_directory_path(ec) / "topdog-report-XXXXXX").string();
  if (ec || ::mkdtemp(dir_template.data()) == nullptr) {
    return MakeError(ErrorKind::kUnavailable, std::string("mkdtemp: ") + std::strerror(errno));
  }
  const std::string dir = dir_template;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  std::string timeline = TimelineData(result, 60);
  std::string columns = timeline.substr(0, timeline.find('\n'));
  std::vector<std::string> names;
  {
    std::istringstream header(columns.substr(1));
    std::string name;
    while (header >> name) names.push_back(name);
  }
  if (auto w = WriteFile(dir + "/frontier.dat", FrontierData(result)); !w) return tl::unexpected(w.error());
  if (auto w = WriteFile(dir + "/timeline.dat", timeline); !w) return tl::unexpected(w.error());

  std::string script = "set terminal svg size 960,540 dynamic enhanced font 'sans,11'\n";
  script += "set output '" + dir + "/frontier.svg'\n";
  script += "set title 'Cost against overload: each arm swept (lower left is better)'\n";
  script += "set xlabel 'replica-minutes'\nset ylabel 'overload minutes'\nset logscale y\nset grid\n";
  script += "set key top right\n";
  script += "plot '" + dir + "/frontier.dat' using (strcol(1) eq 'hpa' ? $4 : 1/0):($5 > 0 ? $5 : 0.5) "
            "with linespoints title 'reactive HPA (target swept)', \\\n";
  script += "  '" + dir + "/frontier.dat' using (strcol(1) eq 'advisor' ? $4 : 1/0):($5 > 0 ? $5 : 0.5) "
            "with points title 'advisor (target, quantile swept)', \\\n";
  script += "  '" + dir + "/frontier.dat' using (strcol(1) eq 'seasonal_naive' ? $4 : 1/0):($5 > 0 ? $5 : 0.5) "
            "with linespoints title 'seasonal-naive advisor', \\\n";
  script += "  '" + dir + "/frontier.dat' using (strcol(1) eq 'static_peak' ? $4 : 1/0):($5 > 0 ? $5 : 0.5) "
            "with points pt 7 title 'static peak', \\\n";
  script += "  '" + dir + "/frontier.dat' using (strcol(1) eq 'oracle' ? $4 : 1/0):($5 > 0 ? $5 : 0.5) "
            "with points pt 9 title 'oracle (0 plotted at 0.5)'\n";
  script += "unset logscale y\nset output '" + dir + "/timeline.svg'\n";
  script += "set title 'Demand and ready capacity (hourly means over scored minutes)'\n";
  script += "set xlabel 'days of scored time'\nset ylabel 'req/s'\nset key top left\n";
  script += "plot '" + dir + "/timeline.dat' using 1:2 with lines lw 2 title 'demand'";
  for (size_t i = 2; i < names.size(); ++i) {
    script += ", '' using 1:" + std::to_string(i + 1) + " with lines title '" + names[i] + "'";
  }
  script += "\n";
  if (auto w = WriteFile(dir + "/plots.gp", script); !w) return tl::unexpected(w.error());
  if (auto run = RunGnuplot(dir + "/plots.gp", dir + "/gnuplot.log"); !run) return tl::unexpected(run.error());
  auto frontier_svg = ReadSvg(dir + "/frontier.svg");
  if (!frontier_svg) return tl::unexpected(frontier_svg.error());
  auto timeline_svg = ReadSvg(dir + "/timeline.svg");
  if (!timeline_svg) return tl::unexpected(timeline_svg.error());

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>Autoscaling backtest: " + Escape(info.trace) + "</title>\n";
  html += "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}table{border-collapse:collapse;}"
          "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right;}th{background:#eee;}"
          "figure{margin:1em 0;}</style>\n</head>\n<body>\n";
  html += MarkdownToHtml(ReportMarkdown(result, info));
  html += "<h2>Plots</h2>\n<figure id=\"frontier\">" + *frontier_svg + "</figure>\n";
  html += "<figure id=\"timeline\">" + *timeline_svg + "</figure>\n</body>\n</html>\n";
  return html;
}

}  // namespace topdog::advisor
