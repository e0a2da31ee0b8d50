// Loads a captured fixture tree (tests/fixtures/<name>/{proc,sys,udev}) into an InMemoryFileReader, with
// paths rooted at /proc, /sys and /run/udev/data so collectors run with default Paths. Test-only.
#pragma once

#include <string>
#include <vector>

#include "exporter/io/file_reader.h"

namespace topdog::exporter::testing {

// Absolute path of tests/fixtures/<name>.
std::string FixturePath(const std::string& name);

// Reads a file below tests/fixtures (e.g. "host-6.18/proc/stat"); aborts the test binary if absent.
std::string ReadFixture(const std::string& relative);

// The lines of a file below tests/fixtures, without their newlines.
std::vector<std::string> ReadFixtureLines(const std::string& relative);

// Every file of tests/fixtures/<name>/{proc,sys,udev} mapped to /proc/..., /sys/..., /run/udev/data/...
InMemoryFileReader LoadFixtureTree(const std::string& name);

}  // namespace topdog::exporter::testing
