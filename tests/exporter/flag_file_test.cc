#include "exporter/flag_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace topdog::exporter {
namespace {

// A command line shaped like the exporter's: a scalar, a repeatable option, a switch with its negation, an
// option with an environment variable.
class FlagFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_.add_option("--web.listen-address", listen_, "")->capture_default_str();
    app_.add_option("--collector.accesslog.path", paths_, "");
    app_.add_option("--collector.accesslog.max-routes", max_routes_, "");
    cpu_ = app_.add_flag("--collector.cpu,!--no-collector.cpu", cpu_on_, "");
    app_.add_flag("--collector.accesslog,!--no-collector.accesslog", accesslog_on_, "");
    app_.add_option("--collector.gateway.node-name", node_, "")->envname("TOPDOG_FLAG_FILE_TEST_NODE");
    config_ = app_.set_config("--config.file", "", "");
    app_.config_formatter(std::make_shared<YamlFlagFile>(app_));
    app_.allow_config_extras(CLI::config_extras_mode::error);
    // One file per test and process: ctest runs the tests of this suite side by side.
    path_ = ::testing::TempDir() + "flag_file_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + std::to_string(::getpid()) +
            ".yaml";
  }
  void TearDown() override {
    std::filesystem::remove(path_);
    ::unsetenv("TOPDOG_FLAG_FILE_TEST_NODE");
  }

  void Parse(const std::string& yaml, std::vector<std::string> args = {}) {
    std::ofstream(path_) << yaml;
    args.insert(args.begin(), "--config.file=" + path_);
    std::vector<const char*> argv = {"topdog-exporter"};
    for (const auto& arg : args) argv.push_back(arg.c_str());
    app_.parse(static_cast<int>(argv.size()), argv.data());
  }

  // The message of the ConfigError that parsing `yaml` throws ("" if none).
  std::string Error(const std::string& yaml) {
    try {
      Parse(yaml);
    } catch (const CLI::ConfigError& e) {
      return e.what();
    }
    return "";
  }

  CLI::App app_;
  CLI::Option* config_ = nullptr;
  CLI::Option* cpu_ = nullptr;
  std::string listen_ = ":9100";
  std::vector<std::string> paths_;
  size_t max_routes_ = 100;
  bool cpu_on_ = true;
  bool accesslog_on_ = false;
  std::string node_;
  std::string path_;
};

TEST_F(FlagFileTest, DottedAndNestedKeysSetTheSameFlags) {
  Parse(
      "web.listen-address: 127.0.0.1:9200\n"
      "collector.accesslog: true\n"
      "collector:\n"
      "  accesslog.path: [/var/log/a.log, /var/log/containers/ingress-*.log]\n"
      "  accesslog:\n"
      "    max-routes: 250\n");
  EXPECT_EQ(listen_, "127.0.0.1:9200");
  EXPECT_TRUE(accesslog_on_);
  EXPECT_EQ(paths_, (std::vector<std::string>{"/var/log/a.log", "/var/log/containers/ingress-*.log"}));
  EXPECT_EQ(max_routes_, 250u);
}

TEST_F(FlagFileTest, FalseTurnsASwitchOffAndCountsAsGiven) {
  Parse("collector.cpu: false\n");
  EXPECT_EQ(cpu_->count(), 1u);
  EXPECT_FALSE(cpu_on_);
}

TEST_F(FlagFileTest, NegatedNameWorksToo) {
  Parse("no-collector.cpu: true\n");
  EXPECT_EQ(cpu_->count(), 1u);
  EXPECT_FALSE(cpu_on_);
}

TEST_F(FlagFileTest, CommandLineWinsOverFileAndFileOverEnvironment) {
  ::setenv("TOPDOG_FLAG_FILE_TEST_NODE", "from-env", 1);
  Parse("collector.accesslog.max-routes: 250\ncollector.gateway.node-name: from-file\n",
        {"--collector.accesslog.max-routes=7"});
  EXPECT_EQ(max_routes_, 7u);
  EXPECT_EQ(node_, "from-file");
}

TEST_F(FlagFileTest, EnvironmentStillAppliesWhenTheFileIsSilent) {
  ::setenv("TOPDOG_FLAG_FILE_TEST_NODE", "from-env", 1);
  Parse("collector.accesslog.max-routes: 250\n");
  EXPECT_EQ(node_, "from-env");
}

TEST_F(FlagFileTest, EmptyFileChangesNothing) {
  Parse("# nothing yet\n");
  EXPECT_EQ(listen_, ":9100");
  EXPECT_TRUE(cpu_on_);
  EXPECT_EQ(cpu_->count(), 0u);
}

TEST_F(FlagFileTest, ErrorsNameTheLineAndTheReason) {
  EXPECT_EQ(Error("web.listen-address: :9200\ncollector.acesslog.path: /x\n"),
            "line 2: collector.acesslog.path: no such flag (--collector.acesslog.path)");
  EXPECT_EQ(Error("config.file: other.yaml\n"), "line 1: config.file: no such flag (--config.file)");
  EXPECT_EQ(Error("collector.accesslog.max-routes: 1\ncollector:\n  accesslog.max-routes: 2\n"),
            "line 3: collector.accesslog.max-routes: given twice");
  EXPECT_EQ(Error("collector.cpu: true\nno-collector.cpu: true\n"), "line 2: no-collector.cpu: given twice");
  EXPECT_EQ(Error("collector.accesslog.path:\n  - [a, b]\n"),
            "line 2: collector.accesslog.path: list items must be scalars");
  EXPECT_EQ(Error("collector.accesslog.path: []\n"), "line 1: collector.accesslog.path: empty list");
  EXPECT_EQ(Error("web.listen-address:\n"), "line 1: web.listen-address: no value");
  EXPECT_EQ(Error("- web.listen-address\n"), "line 1: expected a mapping of flag names to values");
  EXPECT_EQ(Error("web.listen-address: [unclosed\n"), "line 2: end of sequence flow not found");
}

TEST_F(FlagFileTest, BadValueIsTheFlagsOwnError) {
  EXPECT_THROW(Parse("collector.accesslog.max-routes: many\n"), CLI::ParseError);
}

TEST_F(FlagFileTest, MissingFileIsAnError) {
  std::vector<const char*> argv = {"topdog-exporter", "--config.file=/nonexistent/topdog.yaml"};
  EXPECT_THROW(app_.parse(static_cast<int>(argv.size()), argv.data()), CLI::FileError);
}

}  // namespace
}  // namespace topdog::exporter
