// Test helpers: a temporary directory removed at the end of the test, and a SqliteStore in one.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "vouch/store/sqlite/sqlite_store.h"

namespace vouch::store::testing {

// A fresh directory under the system's temporary directory; removed, with its contents, on
// destruction.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "vouch-test-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << templ;
    }
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A SqliteStore on a database file in its own temporary directory. The store is closed before the
// directory goes.
class TempSqliteStore {
 public:
  TempSqliteStore() : path_(dir_.File("vouch.db")) { Reopen(); }
  ~TempSqliteStore() { store_.reset(); }

  bool is_open() const { return store_ != nullptr; }
  SqliteStore& store() { return *store_; }
  const std::string& path() const { return path_; }
  // Closes the store (waiting for its committer) and leaves the file in place.
  void Close() { store_.reset(); }
  // Closes and opens the same file again; a failure to open is a test failure.
  void Reopen() {
    store_.reset();
    auto opened = SqliteStore::Open({.path = path_});
    if (!opened.ok()) {
      ADD_FAILURE() << "cannot open " << path_ << ": " << opened.status().ToString();
      return;
    }
    store_ = std::move(opened).value();
  }

 private:
  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

}  // namespace vouch::store::testing
