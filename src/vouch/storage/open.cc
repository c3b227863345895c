#include "vouch/storage/open.h"

#include <fmt/format.h>

#include <cctype>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/sqlite_store.h"

namespace vouch::store {

std::string StoreLocation::Describe() const {
  return kind == StoreKind::kSqlite ? "sqlite " + sqlite_path : "postgresql " + RedactDsn(dsn);
}

namespace {

constexpr std::string_view kStoreUsage =
    "use sqlite://PATH or postgresql://USER:PASSWORD@HOST:PORT/DB";

// The scheme-like prefix of `uri`: a letter, then letters, digits, '+', '-' or '.', then ':'
// ("mysql" in "mysql://…", "postgresql" in "postgresql:/…"). Empty when there is none.
std::string_view SchemeOf(std::string_view uri) {
  if (uri.empty() || !std::isalpha(static_cast<unsigned char>(uri[0]))) return {};
  for (size_t i = 1; i < uri.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(uri[i]);
    if (c == ':') return uri.substr(0, i);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return {};
}

}  // namespace

Result<StoreLocation> ParseStoreUri(std::string_view uri) {
  if (uri.empty()) return InvalidArgument(fmt::format("the store URI is empty: {}", kStoreUsage));
  StoreLocation where;
  if (uri.starts_with("postgresql://") || uri.starts_with("postgres://")) {
    where.kind = StoreKind::kPostgres;
    where.dsn = std::string(uri);
    return where;
  }
  if (uri.starts_with("sqlite://")) uri.remove_prefix(9);
  // Anything else with a scheme is refused, so that a mistyped DSN ("postgresql:/…") never becomes
  // the name of a new SQLite file. Only the scheme is repeated: the rest may hold a password.
  // (One letter is a drive, not a scheme.)
  if (std::string_view scheme = SchemeOf(uri); scheme.size() > 1) {
    return InvalidArgument(
        fmt::format("unknown store '{}:…': {}", scheme.substr(0, 32), kStoreUsage));
  }
  if (uri.starts_with("postgres") || uri.find("://") != std::string_view::npos) {
    return InvalidArgument(fmt::format("the store URI is malformed: {}", kStoreUsage));
  }
  if (uri.find('=') != std::string_view::npos) {
    // A libpq key=value string ("host=db dbname=vouch user=…").
    where.kind = StoreKind::kPostgres;
    where.dsn = std::string(uri);
    return where;
  }
  if (uri.empty()) {
    return InvalidArgument(fmt::format("the SQLite store needs a file path: {}", kStoreUsage));
  }
  where.sqlite_path = std::string(uri);
  return where;
}

Result<std::unique_ptr<Store>> OpenStore(const StoreLocation& where, const OpenOptions& options) {
  if (where.kind == StoreKind::kSqlite) {
    VOUCH_ASSIGN_OR_RETURN(auto s,
                           SqliteStore::Open({.path = where.sqlite_path,
                                              .quick_check = options.sqlite_quick_check,
                                              .accept_shorter_log = options.accept_shorter_log,
                                              .audit_tree_off = options.audit_tree_off}));
    return std::unique_ptr<Store>(std::move(s));
  }
  VOUCH_ASSIGN_OR_RETURN(
      auto s, PostgresStore::Open({.dsn = where.dsn,
                                   .pool_size = options.pg_pool_size,
                                   .statement_timeout_ms = options.pg_statement_timeout_ms,
                                   .audit_tree_off = options.audit_tree_off}));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace vouch::store
