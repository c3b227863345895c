// Storage faults on SQLite are loud: the acknowledged-head file, refusing a log shorter than it,
// the quick check at open, a damaged file answered UNAVAILABLE with Ready() failing, and the
// checkpoint at a clean close.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "vouch/store/sqlite/acked_head.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/json.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

Status CreateModelJob(Tx& tx, const std::string& name) {
  Model m{.name = name, .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
  VOUCH_TRY(tx.InsertModel(m));
  AuditEvent e;
  e.time_ms = kT0;
  e.actor_name = "alice";
  e.action = "model.created";
  e.model_name = name;
  return tx
      .AppendAuditEvent(e,
                        [&](int64_t seq) -> Result<std::string> {
                          return CanonicalJson(json::object{{"seq", seq}, {"model", name}});
                        })
      .status();
}

Status CreateModels(Store& store, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    VOUCH_TRY(
        store.Write([&](Tx& tx) { return CreateModelJob(tx, fmt::format("{}{}", prefix, i)); }));
  }
  return OkStatus();
}

std::string SlurpFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Overwrite(const std::string& path, off_t offset, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// The root page number of a table, read through a connection of its own.
int64_t RootPage(const std::string& db_path, const std::string& table) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string sql =
      "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'";
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  int64_t page = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return page;
}

TEST(AckedHead, TheHeadIsTheHighestCountRecorded) {
  TempDir dir;
  const std::string path = dir.File("vouch.db-head");
  auto head = AckedHeadFile::Open(path);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_FALSE((*head)->seq().has_value());
  for (int64_t n : {1, 2, 7, 7, 5}) ASSERT_TRUE((*head)->Record(n).ok());
  EXPECT_EQ((*head)->seq(), 7);
  auto read = ReadAckedHead(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, 7);
  EXPECT_EQ(SlurpFile(path).size(), 128u);
}

TEST(AckedHead, NoFileReadsAsNoHead) {
  TempDir dir;
  auto read = ReadAckedHead(dir.File("absent-head"));
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
}

TEST(AckedHead, ASlotTornByACrashLeavesTheCountAcknowledgedBeforeIt) {
  TempDir dir;
  const std::string path = dir.File("vouch.db-head");
  {
    auto head = AckedHeadFile::Open(path);
    ASSERT_TRUE(head.ok());
    ASSERT_TRUE((*head)->Record(41).ok());
    ASSERT_TRUE((*head)->Record(42).ok());
  }
  const std::string text = SlurpFile(path);
  const size_t newest = text.find("42 check") < 64 ? 0 : 64;
  Overwrite(path, static_cast<off_t>(newest + 20), "9999");  // half a write of a higher count
  auto read = ReadAckedHead(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, 41);
}

TEST(AckedHead, AFileWithNoValidSlotIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("vouch.db-head");
  std::ofstream(path) << std::string(128, 'x');
  EXPECT_EQ(ReadAckedHead(path).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(AckedHeadFile::Open(path).status().code(), StatusCode::kDataLoss);
}

TEST(AckedHead, ResetReplacesAHigherCount) {
  TempDir dir;
  const std::string path = dir.File("vouch.db-head");
  ASSERT_TRUE(ResetAckedHead(path, 90).ok());
  ASSERT_TRUE(ResetAckedHead(path, 12).ok());
  EXPECT_EQ(*ReadAckedHead(path), 12);
}

TEST(SqliteStorageFaults, EveryCommitRecordsTheAcknowledgedHeadBeforeItIsAnswered) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(CreateModels(db.store(), "m", 3).ok());
  // Write() has returned: the head file already says so.
  EXPECT_EQ(*ReadAckedHead(AckedHeadPath(db.path())), 3);
  EXPECT_EQ(db.store().AcknowledgedHead(), 3);
}

// The descriptor this process holds open on `path`, or -1.
int OpenDescriptorOf(const std::string& path) {
  std::error_code ec;
  const auto want = std::filesystem::canonical(path, ec);
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target == want) return std::stoi(entry.path().filename().string());
  }
  return -1;
}

TEST(SqliteStorageFaults, AHeadThatCannotBeRecordedMakesReadyFailAndNamesNoPath) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(CreateModels(db.store(), "m", 1).ok());
  const std::string head = AckedHeadPath(db.path());
  int fd = OpenDescriptorOf(head);
  ASSERT_GE(fd, 0) << "the store does not hold " << head << " open";
  // The head's descriptor now refuses writes (read-only /dev/null): every Record() fails.
  int read_only = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(read_only, 0);
  ASSERT_EQ(::dup2(read_only, fd), fd);
  ::close(read_only);

  // The write itself committed, and is answered so; the head lags behind it.
  ASSERT_TRUE(CreateModels(db.store(), "n", 1).ok());
  EXPECT_EQ(*ReadAckedHead(head), 1);
  Status ready = db.store().Ready();
  EXPECT_EQ(ready.code(), StatusCode::kUnavailable);
  EXPECT_EQ(ready.message(), "writes to the database fail");
  EXPECT_EQ(ready.message().find(db.path()), std::string::npos);
}

TEST(SqliteStorageFaults, ALogShorterThanTheAcknowledgedHeadIsRefusedNamingBothLengths) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(CreateModels(db.store(), "m", 3).ok());
  db.Close();
  ASSERT_TRUE(ResetAckedHead(AckedHeadPath(db.path()), 10).ok());

  auto refused = SqliteStore::Open({.path = db.path()});
  ASSERT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("holds 3 events, but 10 were acknowledged"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(*ReadAckedHead(AckedHeadPath(db.path())), 10);  // refusing changed nothing

  auto accepted = SqliteStore::Open({.path = db.path(), .accept_shorter_log = true});
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ((*accepted)->AcknowledgedHead(), 3);
  accepted->reset();
  EXPECT_EQ(*ReadAckedHead(AckedHeadPath(db.path())), 3);
  db.Reopen();
  EXPECT_TRUE(db.is_open());
}

TEST(SqliteStorageFaults, ALongerLogThanTheHeadIsServedAndMovesTheHeadUp) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(CreateModels(db.store(), "m", 4).ok());
  db.Close();
  ASSERT_TRUE(ResetAckedHead(AckedHeadPath(db.path()), 2).ok());
  db.Reopen();
  ASSERT_TRUE(db.is_open());
  EXPECT_EQ(db.store().AcknowledgedHead(), 4);
}

TEST(SqliteStorageFaults, ACleanCloseLeavesEveryCommitInTheDatabaseFileAlone) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  ASSERT_TRUE(CreateModels(db.store(), "m", 5).ok());
  db.Close();
  std::error_code ec;
  auto wal = std::filesystem::file_size(db.path() + "-wal", ec);
  EXPECT_TRUE(ec || wal == 0) << "the WAL still holds " << wal << " bytes";

  TempDir copy;
  std::filesystem::copy_file(db.path(), copy.File("vouch.db"));
  auto opened = SqliteStore::Open({.path = copy.File("vouch.db"), .read_only = true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  int64_t head = 0;
  ASSERT_TRUE((*opened)
                  ->Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(head, 5);
}

class DamagedFile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.is_open());
    ASSERT_TRUE(CreateModels(db_.store(), "model-with-a-longer-name-", 200).ok());
    db_.Close();  // checkpointed: every page is in the file
    const int64_t root = RootPage(db_.path(), "models");
    ASSERT_GT(root, 1);
    Overwrite(db_.path(), static_cast<off_t>((root - 1) * 4096), std::string(4096, '\x5a'));
  }
  TempSqliteStore db_;
};

TEST_F(DamagedFile, IsRefusedAtOpenByTheQuickCheck) {
  auto opened = SqliteStore::Open({.path = db_.path()});
  ASSERT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("quick_check"), std::string::npos)
      << opened.status().message();
  EXPECT_NE(opened.status().message().find("--skip-check"), std::string::npos);
}

TEST_F(DamagedFile, WithoutTheCheckAWriteThatMeetsTheDamageIsUnavailableAndReadyFails) {
  auto opened = SqliteStore::Open({.path = db_.path(), .quick_check = false});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  EXPECT_TRUE(store.Ready().ok());
  Status written = store.Write([&](Tx& tx) { return CreateModelJob(tx, "after-damage"); });
  EXPECT_EQ(written.code(), StatusCode::kUnavailable) << written.ToString();
  Status ready = store.Ready();
  EXPECT_EQ(ready.code(), StatusCode::kUnavailable);
  EXPECT_NE(ready.message().find("damaged"), std::string::npos) << ready.message();
  // Reads of what is intact go on.
  EXPECT_TRUE(store.Read([](Tx& tx) { return tx.AuditHeadSeq().status(); }).ok());
}

TEST_F(DamagedFile, WithoutTheCheckAReadThatMeetsTheDamageIsUnavailableAndReadyFails) {
  auto opened = SqliteStore::Open({.path = db_.path(), .quick_check = false});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  Status read = store.Read([](Tx& tx) { return tx.ListModels("", 1000).status(); });
  EXPECT_EQ(read.code(), StatusCode::kUnavailable) << read.ToString();
  EXPECT_EQ(store.Ready().code(), StatusCode::kUnavailable);
}

TEST(SqliteStorageFaults, FailuresUnderneathAreUnavailableAndClassified) {
  for (int rc : {SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY,
                 SQLITE_CANTOPEN}) {
    EXPECT_EQ(SqliteStatus(nullptr, rc, "x").code(), StatusCode::kUnavailable) << rc;
  }
  EXPECT_EQ(FaultOf(SQLITE_CORRUPT), StorageFault::kDamaged);
  EXPECT_EQ(FaultOf(SQLITE_NOTADB), StorageFault::kDamaged);
  EXPECT_EQ(FaultOf(SQLITE_FULL), StorageFault::kFileSystem);
  EXPECT_EQ(FaultOf(SQLITE_IOERR_FSYNC), StorageFault::kFileSystem);
  EXPECT_EQ(FaultOf(SQLITE_BUSY), StorageFault::kNone);
  EXPECT_EQ(FaultOf(SQLITE_CONSTRAINT_UNIQUE), StorageFault::kNone);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_MISMATCH, "x").code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace vouch::store::testing
