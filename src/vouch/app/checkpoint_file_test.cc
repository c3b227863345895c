// The checkpoint file: the last note read back from notes separated by blank lines, a torn write
// refused, and the file refused inside the data directory.
#include "vouch/app/checkpoint_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "vouch/tlog/checkpoint.h"

namespace vouch::app {
namespace {

std::string Note(uint64_t size) {
  auto signer = tlog::GenerateSigner("log.example/api/v1/audit/log");
  EXPECT_TRUE(signer.ok());
  tlog::Checkpoint c{.origin = "log.example/api/v1/audit/log", .size = size};
  c.root[0] = static_cast<uint8_t>(size);
  auto note = tlog::SignCheckpoint(c, std::span<const tlog::Signer>(&*signer, 1));
  EXPECT_TRUE(note.ok());
  return note.ok() ? *note : std::string();
}

class CheckpointFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vouch-ckpt-file-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CheckpointFileTest, TheLastOfTheAppendedNotesIsReadBackWhole) {
  const std::filesystem::path file = dir_ / "checkpoints";
  EXPECT_EQ(*ReadLastCheckpointNote(file), std::nullopt);
  const std::string one = Note(1), two = Note(2);
  ASSERT_TRUE(AppendCheckpointNote(file, one).ok());
  EXPECT_EQ(*ReadLastCheckpointNote(file), one);
  ASSERT_TRUE(AppendCheckpointNote(file, two).ok());
  EXPECT_EQ(*ReadLastCheckpointNote(file), two);
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, one + "\n" + two);
}

TEST(LastCheckpointNote, RefusesATornOrForeignEnding) {
  const std::string one = Note(1);
  EXPECT_EQ(LastCheckpointNote("").value(), std::nullopt);
  EXPECT_EQ(LastCheckpointNote(one.substr(0, one.size() - 3)).status().code(),
            StatusCode::kInvalidArgument);
  // A note cut right after its text: the last paragraph is not signatures.
  EXPECT_EQ(LastCheckpointNote(one + "\n" + "log.example/api/v1/audit/log\n2\n").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LastCheckpointNote("just some text\n").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CheckpointFileTest, TheFileIsRefusedInsideTheDataDirectory) {
  const std::filesystem::path data = dir_ / "data";
  std::filesystem::create_directories(data);
  EXPECT_EQ(CheckCheckpointFileOutside(data / "checkpoints", data).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckCheckpointFileOutside(data / "sub" / ".." / "x", data).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckCheckpointFileOutside(dir_ / "data" / ".." / "checkpoints", data).code(),
            StatusCode::kOk);
  EXPECT_EQ(CheckCheckpointFileOutside(dir_ / "database-checkpoints", data).code(),
            StatusCode::kOk);
}

}  // namespace
}  // namespace vouch::app
