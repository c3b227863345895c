// Backups of a live SQLite store: one consistent snapshot while a writer keeps committing, a file
// of mode 0600 that stands alone (no -wal), never written over an existing file.
#include "vouch/store/sqlite/sqlite_backup.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

// One model and its event per job, so a consistent snapshot has as many models as events.
Status CreateModelJob(Tx& tx, const std::string& name) {
  Model m{.name = name, .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
  VOUCH_TRY(tx.InsertModel(m));
  AuditEvent e;
  e.action = "model.created";
  return tx
      .AppendAuditEvent(e,
                        [&](int64_t seq) {
                          return CanonicalJson(json::object{{"seq", seq}});
                        })
      .status();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(BackupSqliteFile, CopiesOneConsistentSnapshotWhileTheStoreWrites) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      if (db.store()
              .Write([&](Tx& tx) { return CreateModelJob(tx, fmt::format("m{}", i)); })
              .ok()) {
        ++written;
      }
    }
  });
  while (written < 50) std::this_thread::yield();
  TempDir out;
  const std::string copy = out.File("backup.db");
  Status s = BackupSqliteFile(db.path(), copy);
  stop = true;
  writer.join();
  ASSERT_TRUE(s.ok()) << s.ToString();

  struct stat st {};
  ASSERT_EQ(::stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // Rollback-journal mode (file format bytes 18 and 19 are 1), and nothing beside it.
  const std::string bytes = ReadFile(copy);
  ASSERT_GT(bytes.size(), 100u);
  EXPECT_EQ(bytes[18], 1);
  EXPECT_EQ(bytes[19], 1);

  auto opened = SqliteStore::Open({.path = copy, .read_only = true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE((*opened)->CheckIntegrity().ok());
  int64_t events = -1;
  size_t models = 0;
  ASSERT_TRUE((*opened)
                  ->Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(events, tx.AuditHeadSeq());
                    VOUCH_ASSIGN_OR_RETURN(auto all, tx.ListModelRows("", 1'000'000));
                    models = all.size();
                    return OkStatus();
                  })
                  .ok());
  EXPECT_GE(events, 50);
  EXPECT_EQ(static_cast<int64_t>(models), events);
  opened->reset();
  EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(copy + "-journal"));
}

TEST(BackupSqliteFile, AnExistingFileIsNotOverwritten) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  TempDir out;
  const std::string copy = out.File("backup.db");
  std::ofstream(copy) << "precious";
  Status s = BackupSqliteFile(db.path(), copy);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(ReadFile(copy), "precious");
}

TEST(BackupSqliteFile, AMissingSourceLeavesNothingBehind) {
  TempDir dir;
  Status s = BackupSqliteFile(dir.File("missing.db"), dir.File("backup.db"));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir.File("backup.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing.db")));
}

TEST(RenameDurably, RefusesAnExistingTargetUnlessToldToReplaceIt) {
  TempDir dir;
  std::ofstream(dir.File("new")) << "new";
  std::ofstream(dir.File("old")) << "old";
  EXPECT_EQ(RenameDurably(dir.File("new"), dir.File("old"), false).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dir.File("old")), "old");
  ASSERT_TRUE(RenameDurably(dir.File("new"), dir.File("old"), true).ok());
  EXPECT_EQ(ReadFile(dir.File("old")), "new");
  EXPECT_FALSE(std::filesystem::exists(dir.File("new")));
  std::ofstream(dir.File("other")) << "other";
  ASSERT_TRUE(RenameDurably(dir.File("other"), dir.File("fresh"), false).ok());
  EXPECT_EQ(ReadFile(dir.File("fresh")), "other");
}

}  // namespace
}  // namespace vouch::store::testing
