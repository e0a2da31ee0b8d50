#include "tests/fakes/fixture_tree.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace topdog::exporter::testing {

std::string FixturePath(const std::string& name) { return std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/" + name; }

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative), std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "missing fixture %s\n", relative.c_str());
    std::abort();
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> ReadFixtureLines(const std::string& relative) {
  const std::string text = ReadFixture(relative);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

InMemoryFileReader LoadFixtureTree(const std::string& name) {
  namespace fs = std::filesystem;
  InMemoryFileReader reader;
  const std::pair<const char*, const char*> roots[] = {{"proc", "/proc"}, {"sys", "/sys"}, {"udev", "/run/udev/data"}};
  for (auto [dir, mount] : roots) {
    fs::path base = fs::path(FixturePath(name)) / dir;
    if (!fs::exists(base)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(base)) {
      if (!entry.is_regular_file()) continue;
      std::string rel = fs::relative(entry.path(), base).string();
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream contents;
      contents << in.rdbuf();
      reader.AddFile(std::string(mount) + "/" + rel, contents.str());
    }
  }
  return reader;
}

}  // namespace topdog::exporter::testing
