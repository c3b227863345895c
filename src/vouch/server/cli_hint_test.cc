#include "vouch/server/cli_hint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::server {
namespace {

namespace fs = std::filesystem;
using store::testing::TempDir;

// Writes `bytes` to `path` (its directories made), executable when `executable`.
void WriteFile(const fs::path& path, const std::string& bytes, bool executable = true) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  ::chmod(path.c_str(), executable ? 0755 : 0644);
}

class CliHint : public ::testing::Test {
 protected:
  CliHint() { WriteFile(self_, "the build's bytes"); }
  TempDir dir_;
  fs::path self_ = dir_.path() / "build" / "vouch";
};

TEST_F(CliHint, NamesVouchWhenThePathFindsThisVeryFile) {
  EXPECT_EQ(CliCommandFor(self_, "/nonexistent:" + (dir_.path() / "build").string()), "vouch");
}

TEST_F(CliHint, NamesVouchWhenThePathFindsAnInstalledCopyOfIt) {
  WriteFile(dir_.path() / "prefix" / "bin" / "vouch", "the build's bytes");
  EXPECT_EQ(CliCommandFor(self_, (dir_.path() / "prefix" / "bin").string()), "vouch");
}

TEST_F(CliHint, NamesThisBinaryWhenNoVouchIsOnThePath) {
  EXPECT_EQ(CliCommandFor(self_, "/nonexistent:" + (dir_.path() / "empty").string()),
            self_.string());
}

TEST_F(CliHint, NamesThisBinaryWhenTheVouchOnThePathIsAnotherBuild) {
  WriteFile(dir_.path() / "old" / "vouch", "an older build's bytes");
  WriteFile(dir_.path() / "prefix" / "bin" / "vouch", "the build's bytes");
  // The shell runs the first one it finds: the old build, so `vouch` would not reach this one.
  std::string path = (dir_.path() / "old").string() + ":" + (dir_.path() / "prefix/bin").string();
  EXPECT_EQ(CliCommandFor(self_, path), self_.string());
}

TEST_F(CliHint, SkipsAVouchOnThePathThatIsNotExecutable) {
  WriteFile(dir_.path() / "docs" / "vouch", "the build's bytes", /*executable=*/false);
  WriteFile(dir_.path() / "bin" / "vouch", "the build's bytes");
  std::string path = (dir_.path() / "docs").string() + ":" + (dir_.path() / "bin").string();
  EXPECT_EQ(CliCommandFor(self_, path), "vouch");
}

TEST(ShellWord, QuotesOnlyWhatAShellWouldSplitOrExpand) {
  EXPECT_EQ(ShellWord("/opt/vouch-1.0/bin/vouch"), "/opt/vouch-1.0/bin/vouch");
  EXPECT_EQ(ShellWord("/home/me/my builds/vouch"), "'/home/me/my builds/vouch'");
  EXPECT_EQ(ShellWord("/tmp/it's/vouch"), "'/tmp/it'\\''s/vouch'");
  EXPECT_EQ(ShellWord(""), "''");
}

}  // namespace
}  // namespace vouch::server
