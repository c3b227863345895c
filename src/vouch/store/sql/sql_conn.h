// The small connection interface the shared SQL (store/sql/sql_tx.h) is written over, and the
// dialect object that holds what SQLite and PostgreSQL do differently. A backend is a Connection
// (store/sqlite/sqlite_sql_conn.h, store/postgres/pg_sql_conn.h), a Dialect and its migrations.
//
// SQL text. Statements live in named constants (the connection prepares each once and caches it by
// the text's address) with PostgreSQL's numbered placeholders `$1`, `$2`, ...; SQLite's connection
// reads them as its own `?1`, `?2`. What only one database understands (row locks, the audit head,
// array parameters, LATERAL) is in the Dialect, not spelled twice in the shared code.
//
// Errors, one mapping for every backend: ALREADY_EXISTS on a unique or primary-key violation;
// ABORTED on a serialization failure or deadlock (the store retries the transaction); UNAVAILABLE
// when the storage fails underneath (I/O, disk full, a damaged file, a lost connection, a timeout);
// INVALID_ARGUMENT for a value the database cannot store (PostgreSQL text with U+0000); INTERNAL
// otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch::store::sql {

// One bound parameter. Text is held by reference: a Value lives no longer than the call that
// binds it (the braced list of Connection::Query / Exec).
class Value {
 public:
  enum class Kind { kNull, kInt, kDouble, kText, kBlob };

  // Bytes bound as a BLOB (SQLite) or BYTEA (PostgreSQL), held by reference like text.
  static Value Blob(std::string_view bytes) {
    Value v(bytes);
    v.kind_ = Kind::kBlob;
    return v;
  }

  Value(std::nullptr_t) {}  // NOLINT: implicit, so that a parameter list reads as values
  Value(int64_t v) : kind_(Kind::kInt), int_(v) {}               // NOLINT
  Value(int v) : kind_(Kind::kInt), int_(v) {}                   // NOLINT
  Value(double v) : kind_(Kind::kDouble), double_(v) {}          // NOLINT
  Value(std::string_view v) : kind_(Kind::kText), text_(v) {}    // NOLINT
  Value(const std::string& v) : kind_(Kind::kText), text_(v) {}  // NOLINT
  Value(const char* v) : kind_(Kind::kText), text_(v) {}         // NOLINT
  Value(std::optional<int64_t> v)                                // NOLINT
      : kind_(v ? Kind::kInt : Kind::kNull), int_(v.value_or(0)) {}

  Kind kind() const { return kind_; }
  int64_t int_value() const { return int_; }
  double double_value() const { return double_; }
  std::string_view text() const { return text_; }

 private:
  Kind kind_ = Kind::kNull;
  int64_t int_ = 0;
  double double_ = 0;
  std::string_view text_;
};

// A statement's result rows, read forward. Column accessors are 0-based and read the current row.
// Destroying it releases the statement for its next use (a SQLite statement is reset), so a
// caller reads what it needs before running the same statement again.
class Rows {
 public:
  virtual ~Rows() = default;
  // True when a row is ready; false after the last one.
  virtual Result<bool> Next() = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  // The raw bytes of a BLOB / BYTEA column.
  virtual std::string Blob(int col) const = 0;
  std::optional<int64_t> OptionalInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }
};

// How SQLite and PostgreSQL differ for the shared repositories. One static instance per backend.
struct Dialect {
  std::string_view name;  // "sqlite", "postgres"
  // Whether SELECT ... FOR UPDATE locks rows in a write transaction. SQLite has one writer at a
  // time (BEGIN IMMEDIATE) and takes none; PostgreSQL serializes read-modify-writes on the rows.
  bool row_locks = false;
  // Audit log. `take_audit_seq` yields the next sequence number (one row, one column) and, on
  // PostgreSQL, holds audit_head's row lock until commit; `give_back_audit_seq` ($1 = the number)
  // returns it when the event could not be written (null: taking one reserved nothing);
  // `audit_head` yields the last number. ListAuditEvents runs one of four statements, oldest first
  // (`list_audit`) or newest first (`_desc`), over every event or (`_by_request`) over those the
  // side index lists for one approval request, all with the same parameters: $1 after seq, $2
  // model name, $3 version, $4 actor, $5 action, $6 since, $7 until, $8 limit, $9 model id, $10
  // outcome, $11 before seq (0: none), $12 request id (0 for the statements without one). Rows
  // (seq, body).
  const char* take_audit_seq = nullptr;
  const char* give_back_audit_seq = nullptr;
  const char* audit_head = nullptr;
  const char* list_audit = nullptr;
  const char* list_audit_desc = nullptr;
  const char* list_audit_by_request = nullptr;
  const char* list_audit_by_request_desc = nullptr;
  // The audit log's Merkle tree (migration 0015). `audit_tree_edge` yields (size, edge): the
  // number of leaves and the concatenated 32-byte roots of its right edge, largest first;
  // `lock_audit_tree_edge` the same, holding audit_head's row lock on PostgreSQL until commit
  // (the tree's builder takes it, as every append does); `set_audit_tree_edge` writes them ($1
  // size, $2 edge). A size of -1 marks a store written with tree updates off (a benchmark's). When
  // `take_audit_seq_yields_edge`, take_audit_seq yields (seq, size, edge) from the row it already
  // locks, so an append reads the edge in the same statement.
  const char* audit_tree_edge = nullptr;
  const char* lock_audit_tree_edge = nullptr;
  const char* set_audit_tree_edge = nullptr;
  bool take_audit_seq_yields_edge = false;
  // Null, or one statement that inserts an event ($1..$10 as the event's INSERT), the one stored
  // hash its leaf made ($11 level, $12 index, $13 hash) and writes the new edge ($14 size, $15
  // edge): an append's three writes in one round trip where a round trip is dear (PostgreSQL's,
  // under audit_head's row lock).
  const char* append_audit_event_with_leaf = nullptr;
  // One row, one column: 1 when the tree's tables exist (a read-only SQLite store may predate
  // migration 0015), else 0.
  const char* has_audit_tree = nullptr;
  // Taken before counting the active admins in a write transaction (null: writers are already
  // serialized).
  const char* lock_admin_count = nullptr;
  // For each stage that holds a live version of model $1: (stage, lowest, highest), ordered by
  // lowest, in one statement. Null: LatestVersionPerStage looks each stage up instead.
  const char* latest_per_stage = nullptr;
  // The tags, metrics, params and aliases of a page's versions in one statement (one round trip
  // on PostgreSQL). `version_details_of`: of the versions whose ids $1 lists, with the aliases of
  // the models whose ids $2 lists (IdList's text, each id once). `version_details_in_range`
  // (null: none), for ids that fill much of their range: of every version with an id from $1 to
  // $2, with the aliases of the models $3 lists; one range walk per table instead of a lookup per
  // id, the caller dropping the versions it did not ask for. Rows (id, kind, key, text, number,
  // version), kind a VersionDetail: a tag's, metric's or param's version id, key and value (text,
  // or number for a metric); an alias's model id, name (key) and version number (version). Rows
  // come in no particular order.
  const char* version_details_of = nullptr;
  const char* version_details_in_range = nullptr;
  // For LoadModelDetailsOf, over the models whose ids $1 lists (IdList's text, each id once):
  // (model_id, key, value) of their tags, (model_id, alias, version) of their aliases, and for
  // each model and stage holding a live version the highest one's row (the columns ReadVersion
  // reads), ordered by model id, then by the stage's lowest live version.
  const char* model_tags_of = nullptr;
  const char* model_aliases_of = nullptr;
  const char* latest_versions_of = nullptr;
  // For models with few versions, cheaper than latest_versions_of: the rows (the columns
  // ReadVersion reads) of every live version of the models whose ids $1 lists, ordered by model
  // id, stage and version, all descending (one walk of model_versions_stage, no sort).
  const char* live_versions_of = nullptr;
  // The brackets around a list of ids bound as one text parameter: "[1,2]" (SQLite json_each) or
  // "{1,2}" (a PostgreSQL array literal).
  char id_list_open = '[';
  char id_list_close = ']';
};

// The kind column of Dialect::version_details_of's rows.
enum class VersionDetail : int64_t { kTag = 0, kMetric = 1, kParam = 2, kAlias = 3 };

// The columns of a version row that SqlTx's ReadVersion reads, in its order (`v` the version, `m`
// its model). Every statement that answers whole versions selects exactly these.
#define VOUCH_SQL_VERSION_SELECT                                                                 \
  "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, " \
  "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "             \
  "v.storage_location, v.run_link, v.created_by_id "

// Dialect::latest_versions_of, written once: `IDS` is the dialect's subquery yielding one `id`
// column from the id list bound as $1. Per model and stage, one lookup each for the lowest and the
// highest live version on model_versions_stage, then the highest one's row.
#define VOUCH_SQL_LATEST_VERSIONS_OF(IDS)                                            \
  VOUCH_SQL_VERSION_SELECT                                                           \
  "FROM (SELECT p.id AS model_id, "                                                  \
  "  (SELECT MIN(version) FROM model_versions "                                      \
  "   WHERE model_id = p.id AND stage = s.stage AND deleted_ms IS NULL) AS lowest, " \
  "  (SELECT MAX(version) FROM model_versions "                                      \
  "   WHERE model_id = p.id AND stage = s.stage AND deleted_ms IS NULL) AS highest " \
  "  FROM (" IDS                                                                     \
  ") p "                                                                             \
  "  CROSS JOIN (SELECT 'None' AS stage UNION ALL SELECT 'Staging' UNION ALL "       \
  "              SELECT 'Production' UNION ALL SELECT 'Archived') s) b "             \
  "JOIN model_versions v ON v.model_id = b.model_id AND v.version = b.highest "      \
  "JOIN models m ON m.id = v.model_id "                                              \
  "ORDER BY b.model_id, b.lowest"

// Dialect::live_versions_of, written once: `IN_IDS` is the dialect's condition on `model_id` that
// keeps the models of the id list bound as $1.
#define VOUCH_SQL_LIVE_VERSIONS_OF(IN_IDS)                    \
  VOUCH_SQL_VERSION_SELECT                                    \
  "FROM model_versions v JOIN models m ON m.id = v.model_id " \
  "WHERE v.model_id " IN_IDS                                  \
  " AND v.deleted_ms IS NULL "                                \
  "ORDER BY v.model_id DESC, v.stage DESC, v.version DESC"

// One database connection inside an open transaction, as the shared repositories see it. Used by
// one thread; not thread-safe.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual const Dialect& dialect() const = 0;

  // Runs `sql` (a named constant) with `params` bound to $1, $2, ...; returns its rows. Errors as
  // in the file comment.
  Result<std::unique_ptr<Rows>> Query(const char* sql, std::initializer_list<Value> params = {}) {
    return DoQuery(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // Runs a statement that returns no rows; returns how many rows it changed.
  Result<int64_t> Exec(const char* sql, std::initializer_list<Value> params = {}) {
    return DoExec(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // The same with parameters built at run time.
  Result<int64_t> Exec(const char* sql, std::span<const Value> params) {
    return DoExec(sql, params);
  }

 protected:
  virtual Result<std::unique_ptr<Rows>> DoQuery(const char* sql, std::span<const Value> params) = 0;
  virtual Result<int64_t> DoExec(const char* sql, std::span<const Value> params) = 0;
};

}  // namespace vouch::store::sql
