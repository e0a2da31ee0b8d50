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
