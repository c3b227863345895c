#include "vouch/store/postgres/pg_sql_conn.h"

namespace vouch::store {
namespace {

// Dialect::list_audit*: the conditions every audit query shares ($2 … $10), each off when its
// parameter is empty/zero/null, and the position ($1 after, $11 before; 0: no bound) on `SEQ`.
#define VOUCH_PG_AUDIT_WHERE(SEQ)                                                        \
  SEQ " > $1::bigint AND ($11::bigint = 0 OR " SEQ                                       \
      " < $11::bigint) "                                                                 \
      "AND ($2::text = '' OR model_name = $2::text OR model_id = "                       \
      "  (SELECT id FROM models WHERE name = $2::text AND deleted_ms IS NULL)) "         \
      "AND ($3::bigint = 0 OR version = $3::bigint) AND ($4::text = '' OR actor_name = " \
      "$4::text) AND ($5::text = '' OR action = $5::text) "                              \
      "AND ($6::bigint IS NULL OR time_ms >= $6::bigint) "                               \
      "AND ($7::bigint IS NULL OR time_ms <= $7::bigint) "                               \
      "AND ($9::bigint = 0 OR model_id = $9::bigint) AND ($10::text = '' OR outcome = $10::text) "
// Without a request: a walk of the primary key in either direction ($12 is 0 here).
#define VOUCH_PG_AUDIT_ALL(ORDER)                                                       \
  "SELECT seq, body FROM audit_events WHERE $12::bigint = 0 AND " VOUCH_PG_AUDIT_WHERE( \
      "seq") "ORDER BY seq " ORDER " LIMIT $8::bigint"
// With a request ($12): a walk of the side index's (request_id, seq) range, each event by its key.
#define VOUCH_PG_AUDIT_BY_REQUEST(ORDER)                                                        \
  "SELECT e.seq, e.body FROM audit_request_index r JOIN audit_events e ON e.seq = r.seq "       \
  "WHERE r.request_id = $12::bigint AND " VOUCH_PG_AUDIT_WHERE("r.seq") "ORDER BY r.seq " ORDER \
                                                                        " LIMIT $8::bigint"

// Every parameter whose type PostgreSQL could not infer (IS NULL, = '') carries a cast.
constexpr sql::Dialect kPostgres{
    .name = "postgres",
    .row_locks = true,
    // Takes the next number and holds audit_head's row lock until commit: appends from every
    // server queue here, so numbers are handed out in commit order, without gaps.
    // It yields the tree's size and right edge too (take_audit_seq_yields_edge).
    .take_audit_seq =
        "UPDATE audit_head SET next_seq = next_seq + 1 WHERE id = 1 "
        "RETURNING next_seq - 1, tree_size, tree_edge",
    .give_back_audit_seq =
        "UPDATE audit_head SET next_seq = next_seq - 1 WHERE id = 1 AND next_seq = $1 + 1",
    .audit_head = "SELECT next_seq - 1 FROM audit_head WHERE id = 1",
    .list_audit = VOUCH_PG_AUDIT_ALL("ASC"),
    .list_audit_desc = VOUCH_PG_AUDIT_ALL("DESC"),
    .list_audit_by_request = VOUCH_PG_AUDIT_BY_REQUEST("ASC"),
    .list_audit_by_request_desc = VOUCH_PG_AUDIT_BY_REQUEST("DESC"),
    .audit_tree_edge = "SELECT tree_size, tree_edge FROM audit_head WHERE id = 1",
    .lock_audit_tree_edge = "SELECT tree_size, tree_edge FROM audit_head WHERE id = 1 FOR UPDATE",
    .set_audit_tree_edge =
        "UPDATE audit_head SET tree_size = $1::bigint, tree_edge = $2::bytea WHERE id = 1",
    .take_audit_seq_yields_edge = true,
    .append_audit_event_with_leaf =
        "WITH e AS (INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, "
        "model_id, model_name, version, outcome, body) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)), "
        "h AS (INSERT INTO audit_hashes (level, idx, hash) VALUES ($11, $12, $13)) "
        "UPDATE audit_head SET tree_size = $14::bigint, tree_edge = $15::bytea WHERE id = 1",
    .has_audit_tree = "SELECT CASE WHEN to_regclass('audit_hashes') IS NULL THEN 0 ELSE 1 END",
    // Taken before counting and held until commit, so that two servers that each demote, disable
    // or delete a different admin after counting two cannot both go ahead (write skew, which READ
    // COMMITTED allows). The key follows those of postgres_store.cc ("vouch" in ASCII, + 2).
    .lock_admin_count = "SELECT pg_advisory_xact_lock(2242052021)",
    // Two lookups on model_versions_stage (model_id, stage, version) per stage, in one round trip.
    .latest_per_stage =
        "SELECT s.stage, b.lowest, b.highest "
        "FROM (VALUES ('None'), ('Staging'), ('Production'), ('Archived')) AS s(stage) "
        "CROSS JOIN LATERAL (SELECT MIN(version) AS lowest, MAX(version) AS highest "
        "  FROM model_versions WHERE model_id = $1 AND stage = s.stage AND deleted_ms IS NULL) b "
        "WHERE b.highest IS NOT NULL ORDER BY b.lowest",
    .version_details_of =
        "SELECT version_id, 0, key, value, NULL::double precision, NULL::bigint "
        "FROM version_tags WHERE version_id = ANY($1::bigint[]) "
        "UNION ALL SELECT version_id, 1, key, NULL, value, NULL FROM version_metrics "
        "WHERE version_id = ANY($1::bigint[]) "
        "UNION ALL SELECT version_id, 2, key, value, NULL, NULL FROM version_params "
        "WHERE version_id = ANY($1::bigint[]) "
        "UNION ALL SELECT model_id, 3, alias, NULL, NULL, version FROM model_aliases "
        "WHERE model_id = ANY($2::bigint[])",
    .version_details_in_range = nullptr,
    .model_tags_of =
        "SELECT model_id, key, value FROM model_tags WHERE model_id = ANY($1::bigint[])",
    .model_aliases_of =
        "SELECT model_id, alias, version FROM model_aliases WHERE model_id = ANY($1::bigint[])",
    .latest_versions_of = VOUCH_SQL_LATEST_VERSIONS_OF("SELECT unnest($1::bigint[]) AS id"),
    .live_versions_of = VOUCH_SQL_LIVE_VERSIONS_OF("= ANY($1::bigint[])"),
    .id_list_open = '{',
    .id_list_close = '}',
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

std::string FromByteaHex(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text);
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(HexDigit(text[i]) << 4 | HexDigit(text[i + 1])));
  }
  return out;
}

std::string ToByteaHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

// All the rows arrive with the statement's result; Next walks them.
class PgSqlRows final : public sql::Rows {
 public:
  explicit PgSqlRows(PgRows rows) : rows_(std::move(rows)) {}
  Result<bool> Next() override { return ++row_ < rows_.size(); }
  bool IsNull(int col) const override { return rows_.IsNull(row_, col); }
  int64_t Int(int col) const override { return rows_.Int(row_, col); }
  double Double(int col) const override { return rows_.Double(row_, col); }
  std::string Text(int col) const override { return rows_.Text(row_, col); }
  // BYTEA arrives in text format as "\x" and two hex digits a byte (bytea_output = hex).
  std::string Blob(int col) const override { return FromByteaHex(rows_.Text(row_, col)); }

 private:
  PgRows rows_;
  int row_ = -1;
};

PgParams ToParams(std::span<const sql::Value> params) {
  PgParams out;
  for (const sql::Value& v : params) {
    switch (v.kind()) {
      case sql::Value::Kind::kNull:
        out.AddNull();
        break;
      case sql::Value::Kind::kInt:
        out.Add(v.int_value());
        break;
      case sql::Value::Kind::kDouble:
        out.Add(v.double_value());
        break;
      case sql::Value::Kind::kText:
        out.Add(v.text());
        break;
      case sql::Value::Kind::kBlob:
        out.Add(ToByteaHex(v.text()));
        break;
    }
  }
  return out;
}

}  // namespace

const sql::Dialect& PostgresDialect() { return kPostgres; }

Result<std::unique_ptr<sql::Rows>> PgSqlConn::DoQuery(const char* sql,
                                                      std::span<const sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(PgRows rows, conn_.Query(sql, ToParams(params)));
  return std::unique_ptr<sql::Rows>(std::make_unique<PgSqlRows>(std::move(rows)));
}

Result<int64_t> PgSqlConn::DoExec(const char* sql, std::span<const sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(PgRows rows, conn_.Query(sql, ToParams(params)));
  return rows.affected();
}

}  // namespace vouch::store
