#include "vouch/store/open.h"

#include <fmt/format.h>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/sqlite_store.h"

namespace vouch::store {

std::string StoreLocation::Describe() const {
  return kind == StoreKind::kSqlite ? "sqlite " + sqlite_path : "postgresql " + RedactDsn(dsn);
}

Result<StoreLocation> ParseStoreUri(std::string_view uri) {
  if (uri.empty()) return InvalidArgument("the store URI is empty");
  StoreLocation where;
  if (uri.starts_with("postgresql://") || uri.starts_with("postgres://")) {
    where.kind = StoreKind::kPostgres;
    where.dsn = std::string(uri);
    return where;
  }
  if (uri.starts_with("sqlite://")) {
    where.sqlite_path = std::string(uri.substr(9));
  } else if (size_t scheme = uri.find("://"); scheme != std::string_view::npos) {
    return InvalidArgument(
        fmt::format("unknown store '{}': use sqlite://PATH or postgresql://USER@HOST:PORT/DB",
                    uri.substr(0, scheme + 3)));
  } else if (uri.find('=') != std::string_view::npos &&
             uri.find("dbname") != std::string_view::npos) {
    // A libpq key=value string.
    where.kind = StoreKind::kPostgres;
    where.dsn = std::string(uri);
    return where;
  } else {
    where.sqlite_path = std::string(uri);
  }
  if (where.sqlite_path.empty()) return InvalidArgument("the SQLite store needs a file path");
  return where;
}

Result<std::unique_ptr<Store>> OpenStore(const StoreLocation& where, const OpenOptions& options) {
  if (where.kind == StoreKind::kSqlite) {
    VOUCH_ASSIGN_OR_RETURN(auto s, SqliteStore::Open({.path = where.sqlite_path}));
    return std::unique_ptr<Store>(std::move(s));
  }
  VOUCH_ASSIGN_OR_RETURN(
      auto s, PostgresStore::Open({.dsn = where.dsn,
                                   .pool_size = options.pg_pool_size,
                                   .statement_timeout_ms = options.pg_statement_timeout_ms}));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace vouch::store
