// Where a store lives, as one URI, and opening it. Every command that takes a store (`vouch serve
// --store`, `vouch migrate`, `vouch backup`, `vouch audit verify`) reads it through here.
//
//   sqlite://PATH             a SQLite file (relative, or absolute as sqlite:///abs/path)
//   PATH                      the same, without the scheme
//   postgresql://…, postgres://…, or a libpq key=value string ("host=… dbname=…")
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::store {

enum class StoreKind { kSqlite, kPostgres };

struct StoreLocation {
  StoreKind kind = StoreKind::kSqlite;
  std::string sqlite_path;  // kSqlite
  std::string dsn;          // kPostgres: as given (it may hold a password; print Describe())

  // For messages: the path, or the DSN without its password.
  std::string Describe() const;
};

// INVALID_ARGUMENT for an empty URI, an unknown scheme ("mysql://…") or an empty SQLite path.
Result<StoreLocation> ParseStoreUri(std::string_view uri);

struct OpenOptions {
  int pg_pool_size = 16;
  int pg_statement_timeout_ms = 30'000;
  // SQLite only (SqliteOptions): PRAGMA quick_check at open, and accepting an audit log shorter
  // than the acknowledged head.
  bool sqlite_quick_check = true;
  bool accept_shorter_log = false;
  // Benchmarks only (`vouch serve --bench-audit-tree-off`): appends write no Merkle tree and the
  // store is marked so that every later open refuses it (store/audit_tree.h).
  bool audit_tree_off = false;
};

// Opens the store for a server: applies pending migrations (SQLite always; PostgreSQL when the
// role may, see PostgresStore::Open). Codes as SqliteStore::Open / PostgresStore::Open.
Result<std::unique_ptr<Store>> OpenStore(const StoreLocation& where, const OpenOptions& options);

}  // namespace vouch::store
