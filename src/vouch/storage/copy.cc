#include "vouch/storage/copy.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_tx.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/store/sqlite/sqlite_tx.h"
#include "vouch/util/crypto.h"

namespace vouch::store {
namespace {

// Not data: the migration record (compared, not copied) and PostgreSQL's audit head (set from the
// copied events). SQLite's audit tree head is carried into PostgreSQL's audit head (the tree's
// size and right edge live there); the tree's stored hashes (audit_hashes) are copied as a table.
constexpr std::string_view kMigrationsTable = "schema_migrations";
constexpr std::string_view kAuditHeadTable = "audit_head";
constexpr std::string_view kSqliteAuditTreeTable = "audit_tree";
constexpr int kMaxRowsPerInsert = 500;
constexpr int kMaxParamsPerInsert = 30'000;  // PostgreSQL takes at most 65535

// The SQLite source.
constexpr char kSqliteBegin[] = "BEGIN";
constexpr char kSqliteEnd[] = "ROLLBACK";  // it only read
constexpr char kSqliteTables[] =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
    "'\\' ORDER BY name";
constexpr char kSqliteColumns[] = "SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid";
constexpr char kSqliteParents[] = "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)";
constexpr char kSqliteSchemaVersion[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr char kSqliteHasSequences[] =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'";
constexpr char kSqliteSequence[] = "SELECT seq FROM sqlite_sequence WHERE name = ?1";
constexpr char kSqliteAuditTree[] = "SELECT size, edge FROM audit_tree WHERE id = 1";

// The PostgreSQL target, in the connection's schema.
constexpr char kPgBegin[] = "BEGIN ISOLATION LEVEL READ COMMITTED";
constexpr char kPgSchemaVersion[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr char kPgTables[] =
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
    "AND table_type = 'BASE TABLE' ORDER BY table_name";
// Whether each column is an identity column, and whether a sequence feeds it (identity or serial).
constexpr char kPgColumns[] =
    "SELECT table_name, column_name, data_type, is_identity = 'YES', "
    "is_identity = 'YES' OR COALESCE(column_default, '') LIKE 'nextval(%' "
    "FROM information_schema.columns WHERE table_schema = current_schema() "
    "ORDER BY table_name, ordinal_position";
constexpr char kPgForeignKeys[] =
    "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
    "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace n ON n.oid = k.connamespace "
    "WHERE k.contype = 'f' AND n.nspname = current_schema()";
// Held until commit, so a server appending to the target meanwhile waits and then continues
// after the copied events.
constexpr char kPgLockAuditHead[] = "SELECT next_seq FROM audit_head WHERE id = 1 FOR UPDATE";
constexpr char kPgSetAuditHead[] =
    "UPDATE audit_head SET next_seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events) "
    "WHERE id = 1";
constexpr char kPgSetAuditTree[] =
    "UPDATE audit_head SET tree_size = $1::bigint, tree_edge = $2::bytea WHERE id = 1";

struct Column {
  std::string name;
  std::string type;          // SQLite's declared type, or PostgreSQL's data_type
  bool identity = false;     // PostgreSQL: an identity column
  bool sequenced = false;    // PostgreSQL: fed by a sequence (identity or serial)
  bool rowid_alias = false;  // SQLite: the INTEGER PRIMARY KEY (its AUTOINCREMENT counter counts)
};

struct Table {
  std::vector<Column> columns;
  std::set<std::string> parents;  // tables its foreign keys point at
};

// What is copied of one table: the columns both sides have.
struct Plan {
  std::string name;
  std::vector<const Column*> source_columns;
  std::vector<const Column*> target_columns;  // the same names, in the same order
  int64_t source_rows = 0;
};

std::string SqliteIdent(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

// A statement built at run time from catalog names, so not one for Conn's cache.
Result<SqliteStmtPtr> PrepareBuilt(Conn& c, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(c.db(), sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(c.db(), rc, "sqlite prepare");
  }
  return SqliteStmtPtr(stmt, &sqlite3_finalize);
}

Result<bool> StepBuilt(Conn& c, sqlite3_stmt* stmt) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(c.db(), rc, "sqlite step");
}

Result<int64_t> SqliteCount(Conn& c, const std::string& table) {
  VOUCH_ASSIGN_OR_RETURN(SqliteStmtPtr s,
                         PrepareBuilt(c, "SELECT COUNT(*) FROM " + SqliteIdent(table)));
  VOUCH_ASSIGN_OR_RETURN(bool row, StepBuilt(c, s.get()));
  return row ? sqlite3_column_int64(s.get(), 0) : 0;
}

Result<std::string> PgIdent(PgConn& c, std::string_view name) {
  char* quoted = PQescapeIdentifier(c.raw(), name.data(), name.size());
  if (quoted == nullptr) {
    return Internal(fmt::format("cannot quote the identifier {:?}", name));
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

// Runs a statement built at run time from catalog names (never from input), unprepared.
Result<PgRows> PgRunBuilt(PgConn& c, const std::string& sql, const PgParams& params,
                          std::string_view what) {
  std::vector<const char*> values = params.Pointers();
  PGresult* res = PQexecParams(c.raw(), sql.c_str(), params.size(), nullptr, values.data(), nullptr,
                               nullptr, 0);
  ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return PgRows(res);
  std::string msg = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(c.raw());
  PQclear(res);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  msg = fmt::format("{}: {}", what, msg);
  return c.healthy() ? Internal(std::move(msg)) : Unavailable(std::move(msg));
}

class Copier {
 public:
  explicit Copier(const CopyOptions& options) : options_(options) {}

  Result<CopyReport> Run() {
    VOUCH_TRY(Open());
    Status s = CopyAll();
    if (!s.ok()) {
      (void)pg_->Exec("ROLLBACK");
      (void)src_->Exec(kSqliteEnd);
      return s;
    }
    Status committed = pg_->Exec("COMMIT");
    (void)src_->Exec(kSqliteEnd);
    if (!committed.ok()) {
      return Unavailable(fmt::format("the copy could not be committed: {}", committed.message()));
    }
    // The copied tables have no planner statistics until autovacuum comes round, and a server
    // started at once would plan its first searches blind (a whole table read for each batch of a
    // search). Only the copied tables are analysed, not the rest of a shared database; failing to
    // gather statistics does not undo a committed copy, so it is a note, not a failure.
    if (Status analysed = AnalyzeCopiedTables(); !analysed.ok()) {
      report_.notes.push_back(fmt::format(
          "planner statistics were not gathered ({}): run ANALYZE on the target before serving",
          analysed.message()));
    }
    return report_;
  }

 private:
  Status Open() {
    if (!options_.check_log) return InvalidArgument("the copy needs a log check");
    // Refuses what is not a vouch database, or one newer than this binary, before anything else.
    VOUCH_TRY(SqliteStore::Open({.path = options_.sqlite_path, .read_only = true}).status());
    VOUCH_ASSIGN_OR_RETURN(src_, Conn::Open(options_.sqlite_path, true));
    // Brings the target's schema up to date (a no-op when it is), on the store's own connection.
    VOUCH_TRY(PostgresStore::Open(options_.target).status());
    VOUCH_ASSIGN_OR_RETURN(pg_, PgConn::Open({.dsn = options_.target.dsn,
                                              .statement_timeout_ms = 0,
                                              .schema = options_.target.schema}));
    VOUCH_TRY(src_->Exec(kSqliteBegin));
    return pg_->Exec(kPgBegin);
  }

  Status CopyAll() {
    VOUCH_TRY(ReadSourceSchema());
    VOUCH_TRY(ReadTargetSchema());
    VOUCH_TRY(CompareVersions());
    VOUCH_TRY(CheckTargetEmpty());
    VOUCH_TRY(MakePlans());
    SqliteTx source_tx(*src_);
    auto source_log = options_.check_log(source_tx);
    if (!source_log.ok()) return source_log.status().WithContext("the source's audit log");
    report_.log = *source_log;
    VOUCH_ASSIGN_OR_RETURN(std::vector<std::string> order, CopyOrder());
    for (const std::string& name : order) VOUCH_TRY(CopyTable(plans_.at(name)));
    VOUCH_TRY(ContinueSequences());
    return CompareSides();
  }

  Status ReadSourceSchema() {
    std::vector<std::string> names;
    {
      VOUCH_ASSIGN_OR_RETURN(Stmt s, src_->Prepare(kSqliteTables));
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        names.push_back(s.Text(0));
      }
    }
    for (const std::string& name : names) {
      Table& t = source_[name];
      VOUCH_ASSIGN_OR_RETURN(Stmt cols, src_->Prepare(kSqliteColumns));
      cols.Bind(1, name);
      int pk_columns = 0;
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(bool row, cols.Step());
        if (!row) break;
        Column c{.name = cols.Text(0), .type = cols.Text(1)};
        if (cols.Int(2) > 0) {
          ++pk_columns;
          c.rowid_alias = c.type == "INTEGER";
        }
        t.columns.push_back(std::move(c));
      }
      if (pk_columns != 1) {
        for (Column& c : t.columns) c.rowid_alias = false;
      }
      VOUCH_ASSIGN_OR_RETURN(Stmt parents, src_->Prepare(kSqliteParents));
      parents.Bind(1, name);
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(bool row, parents.Step());
        if (!row) break;
        t.parents.insert(parents.Text(0));
      }
    }
    return OkStatus();
  }

  Status ReadTargetSchema() {
    VOUCH_ASSIGN_OR_RETURN(PgRows tables, pg_->Query(kPgTables));
    for (int i = 0; i < tables.size(); ++i) target_[tables.Text(i, 0)];
    VOUCH_ASSIGN_OR_RETURN(PgRows cols, pg_->Query(kPgColumns));
    for (int i = 0; i < cols.size(); ++i) {
      auto it = target_.find(cols.Text(i, 0));
      if (it == target_.end()) continue;  // a view
      it->second.columns.push_back(Column{.name = cols.Text(i, 1),
                                          .type = cols.Text(i, 2),
                                          .identity = cols.Text(i, 3) == "t",
                                          .sequenced = cols.Text(i, 4) == "t"});
    }
    VOUCH_ASSIGN_OR_RETURN(PgRows fks, pg_->Query(kPgForeignKeys));
    for (int i = 0; i < fks.size(); ++i) {
      auto it = target_.find(fks.Text(i, 0));
      if (it != target_.end()) it->second.parents.insert(fks.Text(i, 1));
    }
    return OkStatus();
  }

  Status CompareVersions() {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, src_->Prepare(kSqliteSchemaVersion));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    const int source = row ? static_cast<int>(s.Int(0)) : 0;
    VOUCH_ASSIGN_OR_RETURN(PgRows r, pg_->Query(kPgSchemaVersion));
    const int target = r.empty() ? 0 : static_cast<int>(r.Int(0, 0));
    if (source != target) {
      return FailedPrecondition(fmt::format(
          "the SQLite database is at schema version {} and the PostgreSQL one at {}; they must be "
          "equal (start `vouch serve` once on the SQLite data directory with this vouch to bring "
          "it up to date)",
          source, target));
    }
    report_.schema_version = source;
    return OkStatus();
  }

  Status CheckTargetEmpty() {
    if (target_.contains(std::string(kAuditHeadTable))) {
      VOUCH_ASSIGN_OR_RETURN(PgRows head, pg_->Query(kPgLockAuditHead));
      if (!head.empty() && head.Int(0, 0) != 1) {
        return FailedPrecondition(fmt::format(
            "the target database is not empty: its audit log has {} events; migrate copies into "
            "an empty database only",
            head.Int(0, 0) - 1));
      }
    }
    for (const auto& [name, table] : target_) {
      if (name == kMigrationsTable || name == kAuditHeadTable) continue;
      VOUCH_ASSIGN_OR_RETURN(std::string q, PgIdent(*pg_, name));
      VOUCH_ASSIGN_OR_RETURN(PgRows r, PgRunBuilt(*pg_, "SELECT EXISTS (SELECT 1 FROM " + q + ")",
                                                  {}, "check " + name));
      if (!r.empty() && r.Text(0, 0) == "t") {
        return FailedPrecondition(fmt::format(
            "the target database is not empty: table {} has rows; migrate copies into an empty "
            "database only",
            name));
      }
    }
    return OkStatus();
  }

  static const Column* Find(const Table& t, std::string_view name) {
    for (const Column& c : t.columns) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  // Which tables and columns are copied; refuses what would be left behind with data in it.
  Status MakePlans() {
    for (const auto& [name, table] : source_) {
      if (name == kMigrationsTable) continue;
      if (name == kSqliteAuditTreeTable && target_.contains(std::string(kAuditHeadTable))) {
        report_.notes.push_back(
            fmt::format("table {} is carried into the target's {} (the tree's size and edge)", name,
                        kAuditHeadTable));
        continue;
      }
      VOUCH_ASSIGN_OR_RETURN(int64_t rows, SqliteCount(*src_, name));
      auto target = target_.find(name);
      if (target == target_.end()) {
        if (rows > 0) {
          return FailedPrecondition(fmt::format(
              "table {} ({} rows) has no counterpart in the target database", name, rows));
        }
        report_.notes.push_back(
            fmt::format("table {} is empty and only in the source: skipped", name));
        continue;
      }
      Plan plan{.name = name, .source_rows = rows};
      for (const Column& c : table.columns) {
        const Column* t = Find(target->second, c.name);
        if (t == nullptr) {
          if (rows > 0) {
            return FailedPrecondition(fmt::format(
                "column {}.{} has no counterpart in the target database", name, c.name));
          }
          report_.notes.push_back(fmt::format("column {}.{} is only in the source", name, c.name));
          continue;
        }
        plan.source_columns.push_back(&c);
        plan.target_columns.push_back(t);
      }
      for (const Column& c : target->second.columns) {
        if (Find(table, c.name) == nullptr) {
          report_.notes.push_back(fmt::format(
              "column {}.{} is only in the target: copied rows take its default", name, c.name));
        }
      }
      plans_.emplace(name, std::move(plan));
    }
    for (const auto& [name, table] : target_) {
      if (name == kMigrationsTable || source_.contains(name)) continue;
      report_.notes.push_back(
          name == kAuditHeadTable
              ? fmt::format("table {} is only in the target: set to follow the copied events", name)
              : fmt::format("table {} is only in the target: left as the migrations made it",
                            name));
    }
    return OkStatus();
  }

  // Parents before children, by the foreign keys of either side; ties by name.
  Result<std::vector<std::string>> CopyOrder() {
    std::map<std::string, std::set<std::string>> waits_for;
    for (const auto& [name, plan] : plans_) {
      std::set<std::string>& parents = waits_for[name];
      for (const Table* t : {&source_.at(name), &target_.at(name)}) {
        for (const std::string& p : t->parents) {
          if (p != name && plans_.contains(p)) parents.insert(p);
        }
      }
    }
    std::vector<std::string> order;
    while (!waits_for.empty()) {
      auto ready = std::find_if(waits_for.begin(), waits_for.end(),
                                [](const auto& entry) { return entry.second.empty(); });
      if (ready == waits_for.end()) {
        return FailedPrecondition(
            fmt::format("the foreign keys among {} form a cycle", waits_for.begin()->first));
      }
      const std::string done = ready->first;
      waits_for.erase(ready);
      for (auto& [_, parents] : waits_for) parents.erase(done);
      order.push_back(done);
    }
    return order;
  }

  // Binds one SQLite value as PostgreSQL text by its storage class.
  static Status AddValue(PgParams& params, sqlite3_stmt* s, int i, const Plan& plan) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_NULL:
        params.AddNull();
        return OkStatus();
      case SQLITE_INTEGER:
        params.Add(static_cast<int64_t>(sqlite3_column_int64(s, i)));
        return OkStatus();
      case SQLITE_FLOAT:
        params.Add(sqlite3_column_double(s, i));  // the shortest text that reads back the same
        return OkStatus();
      case SQLITE_TEXT: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        params.Add(std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i))));
        return OkStatus();
      }
      default: {
        const Column& target = *plan.target_columns[static_cast<size_t>(i)];
        if (target.type != "bytea") {
          return FailedPrecondition(fmt::format("{}.{} holds a BLOB, but the target column is {}",
                                                plan.name, target.name, target.type));
        }
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
        params.Add("\\x" +
                   HexEncode(std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i)))));
        return OkStatus();
      }
    }
  }

  Status CopyTable(const Plan& plan) {
    TableCopy copied{.table = plan.name, .source_rows = plan.source_rows};
    const int ncols = static_cast<int>(plan.source_columns.size());
    if (ncols > 0 && plan.source_rows > 0) {
      std::string select = "SELECT ";
      std::string insert;
      bool identity = false;
      VOUCH_ASSIGN_OR_RETURN(std::string table, PgIdent(*pg_, plan.name));
      for (int i = 0; i < ncols; ++i) {
        select += (i > 0 ? ", " : "") + SqliteIdent(plan.source_columns[i]->name);
        VOUCH_ASSIGN_OR_RETURN(std::string col, PgIdent(*pg_, plan.target_columns[i]->name));
        insert += (i > 0 ? ", " : "") + col;
        identity = identity || plan.target_columns[i]->identity;
      }
      select += " FROM " + SqliteIdent(plan.name);
      // Identity columns take the copied ids as they are.
      insert = fmt::format("INSERT INTO {} ({}){} VALUES ", table, insert,
                           identity ? " OVERRIDING SYSTEM VALUE" : "");
      const int per_insert = std::max(1, std::min(kMaxRowsPerInsert, kMaxParamsPerInsert / ncols));

      VOUCH_ASSIGN_OR_RETURN(SqliteStmtPtr rows, PrepareBuilt(*src_, select));
      PgParams params;
      int batched = 0;
      auto flush = [&]() -> Status {
        if (batched == 0) return OkStatus();
        std::string sql = insert;
        for (int r = 0; r < batched; ++r) {
          sql += r > 0 ? ", (" : "(";
          for (int i = 0; i < ncols; ++i)
            sql += fmt::format("{}${}", i > 0 ? ", " : "", r * ncols + i + 1);
          sql += ")";
        }
        VOUCH_ASSIGN_OR_RETURN(PgRows done,
                               PgRunBuilt(*pg_, sql, params, "copy into " + plan.name));
        copied.target_rows += done.affected();
        params = PgParams();
        batched = 0;
        return OkStatus();
      };
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(bool row, StepBuilt(*src_, rows.get()));
        if (!row) break;
        for (int i = 0; i < ncols; ++i) VOUCH_TRY(AddValue(params, rows.get(), i, plan));
        if (++batched == per_insert) VOUCH_TRY(flush());
      }
      VOUCH_TRY(flush());
    }
    report_.tables.push_back(std::move(copied));
    return OkStatus();
  }

  // Ids handed out after the copy continue after the copied ones (and after any SQLite handed out
  // and whose rows are gone: its AUTOINCREMENT counter).
  Status ContinueSequences() {
    bool has_sequences = false;
    {
      VOUCH_ASSIGN_OR_RETURN(Stmt s, src_->Prepare(kSqliteHasSequences));
      VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
      has_sequences = row && s.Int(0) > 0;
    }
    for (const auto& [name, plan] : plans_) {
      for (size_t i = 0; i < plan.target_columns.size(); ++i) {
        const Column& target = *plan.target_columns[i];
        if (!target.sequenced) continue;
        int64_t handed_out = 0;
        if (has_sequences && plan.source_columns[i]->rowid_alias) {
          VOUCH_ASSIGN_OR_RETURN(Stmt s, src_->Prepare(kSqliteSequence));
          s.Bind(1, name);
          VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
          if (row) handed_out = s.Int(0);
        }
        VOUCH_ASSIGN_OR_RETURN(std::string table, PgIdent(*pg_, name));
        VOUCH_ASSIGN_OR_RETURN(std::string col, PgIdent(*pg_, target.name));
        const std::string sql = fmt::format(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX({}), 0), "
            "$3::bigint) + 1, false) FROM {}",
            col, table);
        VOUCH_TRY(PgRunBuilt(*pg_, sql, PgParams().Add(table).Add(target.name).Add(handed_out),
                             "continue the ids of " + name)
                      .status());
      }
    }
    if (target_.contains(std::string(kAuditHeadTable))) {
      VOUCH_TRY(pg_->Query(kPgSetAuditHead).status());
      if (source_.contains(std::string(kSqliteAuditTreeTable))) VOUCH_TRY(CarryAuditTree());
    }
    return OkStatus();
  }

  // The tree's size and right edge, from SQLite's audit_tree row into PostgreSQL's audit_head row.
  // The copied log check (CompareSides) then compares the stored tree with the copied events.
  Status CarryAuditTree() {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, src_->Prepare(kSqliteAuditTree));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status(StatusCode::kDataLoss, "the source's audit_tree row is missing");
    const int64_t size = s.Int(0);
    const std::string edge = s.Blob(1);
    return pg_->Query(kPgSetAuditTree, PgParams().Add(size).Add("\\x" + HexEncode(edge))).status();
  }

  Status AnalyzeCopiedTables() {
    std::string sql;
    for (const auto& [name, plan] : plans_) {
      VOUCH_ASSIGN_OR_RETURN(std::string table, PgIdent(*pg_, name));
      sql += sql.empty() ? "ANALYZE " + table : ", " + table;
    }
    return sql.empty() ? OkStatus() : pg_->Exec(sql.c_str());
  }

  Status CompareSides() {
    for (TableCopy& t : report_.tables) {
      VOUCH_ASSIGN_OR_RETURN(std::string table, PgIdent(*pg_, t.table));
      VOUCH_ASSIGN_OR_RETURN(
          PgRows r, PgRunBuilt(*pg_, "SELECT COUNT(*) FROM " + table, {}, "count " + t.table));
      t.target_rows = r.empty() ? 0 : r.Int(0, 0);
      if (t.target_rows != t.source_rows) {
        return Status(StatusCode::kDataLoss,
                      fmt::format("table {}: {} rows in the source but {} in the target", t.table,
                                  t.source_rows, t.target_rows));
      }
    }
    PostgresTx target_tx(*pg_, false);
    auto target_log = options_.check_log(target_tx);
    if (!target_log.ok()) return target_log.status().WithContext("the copied audit log");
    if (std::string differs = LogDifference(report_.log, *target_log); !differs.empty()) {
      return Status(StatusCode::kDataLoss, std::move(differs));
    }
    return OkStatus();
  }

  // What differs between the two sides' log checks, as a sentence; empty when nothing does.
  static std::string LogDifference(const LogSummary& source, const LogSummary& target) {
    if (source.events != target.events || source.digest != target.digest) {
      return fmt::format(
          "the copied audit log differs: {} events, Merkle root {} in the source; {} events, "
          "Merkle root {} in the target",
          source.events, source.digest, target.events, target.digest);
    }
    auto describe = [](const std::optional<CheckpointSummary>& c) {
      return c ? fmt::format("size {}, root {}", c->size, c->root) : std::string("none");
    };
    const std::optional<CheckpointSummary>& from = source.checkpoint;
    const std::optional<CheckpointSummary>& to = target.checkpoint;
    if (from.has_value() != to.has_value() ||
        (from && (from->size != to->size || from->root != to->root))) {
      return fmt::format("the copied latest checkpoint differs: {} in the source; {} in the target",
                         describe(from), describe(to));
    }
    if (from && from->note != to->note) {
      return fmt::format(
          "the copied latest checkpoint (size {}) differs in its signed note: its signatures or "
          "cosignatures are not the same in the source and the target",
          from->size);
    }
    return "";
  }

  const CopyOptions& options_;
  std::unique_ptr<Conn> src_;
  std::unique_ptr<PgConn> pg_;
  std::map<std::string, Table> source_;
  std::map<std::string, Table> target_;
  std::map<std::string, Plan> plans_;
  CopyReport report_;
};

}  // namespace

Result<CopyReport> CopySqliteToPostgres(const CopyOptions& options) {
  Copier copier(options);
  return copier.Run();
}

}  // namespace vouch::store
