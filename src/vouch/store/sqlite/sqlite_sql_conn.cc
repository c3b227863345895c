#include "vouch/store/sqlite/sqlite_sql_conn.h"

namespace vouch::store {
namespace {

// Dialect::version_details_of and version_details_in_range: the tags', metrics' and params' FROM
// and WHERE (`t` the table), and the parameter listing the models whose aliases are read.
#define VOUCH_SQLITE_VERSION_DETAILS(TAGS, METRICS, PARAMS, MODELS)                        \
  "SELECT t.version_id, 0, t.key, t.value, NULL, NULL " TAGS                               \
  " UNION ALL SELECT t.version_id, 1, t.key, NULL, t.value, NULL " METRICS                 \
  " UNION ALL SELECT t.version_id, 2, t.key, t.value, NULL, NULL " PARAMS                  \
  " UNION ALL SELECT a.model_id, 3, a.alias, NULL, NULL, a.version FROM json_each(" MODELS \
  ") m JOIN model_aliases a ON a.model_id = m.value"

// The audit sequence is max(seq) + 1: one writer at a time (BEGIN IMMEDIATE) makes it gapless.
// One statement for every audit filter: each condition is off when its parameter is
// empty/zero/null. The model filter matches the name recorded in the event, or the live model of
// that name (so a renamed model keeps its history).
constexpr sql::Dialect kSqlite{
    .name = "sqlite",
    .row_locks = false,
    .take_audit_seq = "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events",
    .give_back_audit_seq = nullptr,
    .audit_head = "SELECT COALESCE(MAX(seq), 0) FROM audit_events",
    .list_audit =
        "SELECT seq, body FROM audit_events WHERE seq > ?1 "
        "AND (?2 = '' OR model_name = ?2 OR model_id = "
        "  (SELECT id FROM models WHERE name = ?2 AND deleted_ms IS NULL)) "
        "AND (?3 = 0 OR version = ?3) AND (?4 = '' OR actor_name = ?4) "
        "AND (?5 = '' OR action = ?5) AND (?6 IS NULL OR time_ms >= ?6) "
        "AND (?7 IS NULL OR time_ms <= ?7) AND (?9 = 0 OR model_id = ?9) ORDER BY seq LIMIT ?8",
    .audit_tree_edge = "SELECT size, edge FROM audit_tree WHERE id = 1",
    .lock_audit_tree_edge = "SELECT size, edge FROM audit_tree WHERE id = 1",
    .set_audit_tree_edge = "UPDATE audit_tree SET size = ?1, edge = ?2 WHERE id = 1",
    .take_audit_seq_yields_edge = false,
    .has_audit_tree =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_tree'",
    .lock_admin_count = nullptr,
    // Two index lookups per stage instead: SQLite's min/max optimization applies only to a lone
    // aggregate.
    .latest_per_stage = nullptr,
    // Driven by the id list: one primary-key lookup per id, no temporary index of the ids (the
    // lists hold each id once).
    .version_details_of = VOUCH_SQLITE_VERSION_DETAILS(
        "FROM json_each(?1) j JOIN version_tags t ON t.version_id = j.value",
        "FROM json_each(?1) j JOIN version_metrics t ON t.version_id = j.value",
        "FROM json_each(?1) j JOIN version_params t ON t.version_id = j.value", "?2"),
    .version_details_in_range = VOUCH_SQLITE_VERSION_DETAILS(
        "FROM version_tags t WHERE t.version_id BETWEEN ?1 AND ?2",
        "FROM version_metrics t WHERE t.version_id BETWEEN ?1 AND ?2",
        "FROM version_params t WHERE t.version_id BETWEEN ?1 AND ?2", "?3"),
    .model_tags_of =
        "SELECT t.model_id, t.key, t.value FROM json_each(?1) j "
        "JOIN model_tags t ON t.model_id = j.value",
    .model_aliases_of =
        "SELECT a.model_id, a.alias, a.version FROM json_each(?1) j "
        "JOIN model_aliases a ON a.model_id = j.value",
    .latest_versions_of = VOUCH_SQL_LATEST_VERSIONS_OF("SELECT value AS id FROM json_each(?1)"),
    .live_versions_of = VOUCH_SQL_LIVE_VERSIONS_OF("IN (SELECT value FROM json_each(?1))"),
    .id_list_open = '[',
    .id_list_close = ']',
};

class SqliteRows final : public sql::Rows {
 public:
  explicit SqliteRows(Stmt stmt) : stmt_(std::move(stmt)) {}
  Result<bool> Next() override { return stmt_.Step(); }
  bool IsNull(int col) const override { return stmt_.IsNull(col); }
  int64_t Int(int col) const override { return stmt_.Int(col); }
  double Double(int col) const override { return stmt_.Double(col); }
  std::string Text(int col) const override { return stmt_.Text(col); }
  std::string Blob(int col) const override { return stmt_.Blob(col); }

 private:
  Stmt stmt_;
};

}  // namespace

const sql::Dialect& SqliteDialect() { return kSqlite; }

Result<Stmt> SqliteSqlConn::Bound(const char* sql, std::span<const sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, conn_.Prepare(sql));
  int i = 1;
  for (const sql::Value& v : params) {
    switch (v.kind()) {
      case sql::Value::Kind::kNull:
        s.BindNull(i);
        break;
      case sql::Value::Kind::kInt:
        s.Bind(i, v.int_value());
        break;
      case sql::Value::Kind::kDouble:
        s.Bind(i, v.double_value());
        break;
      case sql::Value::Kind::kText:
        s.Bind(i, v.text());
        break;
      case sql::Value::Kind::kBlob:
        s.BindBlob(i, v.text());
        break;
    }
    ++i;
  }
  return s;
}

Result<std::unique_ptr<sql::Rows>> SqliteSqlConn::DoQuery(const char* sql,
                                                          std::span<const sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, Bound(sql, params));
  return std::unique_ptr<sql::Rows>(std::make_unique<SqliteRows>(std::move(s)));
}

Result<int64_t> SqliteSqlConn::DoExec(const char* sql, std::span<const sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, Bound(sql, params));
  VOUCH_TRY(s.Run());
  return conn_.changes();
}

}  // namespace vouch::store
