// Copying a whole registry from a SQLite file into an empty PostgreSQL database (`vouch migrate`).
//
// Generic over tables: every table of the SQLite file (but SQLite's own and schema_migrations) that
// the target also has is copied, with the columns both sides have, parents before children (by
// their foreign keys), all in one read snapshot of the source and one PostgreSQL transaction. Then
// identity sequences continue after the copied ids, the audit head after the copied events, and
// before committing, the row counts and the audit logs of both sides are compared: the events and
// their Merkle root, and the latest signed checkpoint (size, root, and its note with every
// signature and cosignature), each side's checked against that side's own tree by the log check.
// A table added by a later migration is copied with no change here (the checkpoints, their
// cosignatures and the signing keys are tables like the rest, their row counts compared).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vouch/store/log_summary.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::store {

struct CopyOptions {
  std::string sqlite_path;  // opened read-only; a server may be writing it
  PostgresOptions target;   // pending migrations are applied first
  LogCheck check_log;       // run on both sides, inside the copy's snapshot and transaction;
                            // audit::VerifiedLogSummary checks the events, the stored tree and
                            // the latest checkpoint against it
};

struct TableCopy {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
};

struct CopyReport {
  int schema_version = 0;
  std::vector<TableCopy> tables;   // in the order they were copied
  LogSummary log;                  // the same on both sides, latest checkpoint included
  std::vector<std::string> notes;  // tables or columns only one side has, and what became of them
};

// Copies, verifies and commits; on any failure nothing is written to the target (beyond the
// migrations that bring an empty database up to date). Codes: UNAVAILABLE when either side cannot
// be opened or the commit fails; FAILED_PRECONDITION when the source is not a vouch database, the
// two schema versions differ, the target holds any rows, a source table or column with data has no
// place in the target, or a BLOB would go into a column that is not bytea; DATA_LOSS when a log
// check fails (a checkpoint that is not its side's tree's, say) or the two sides differ after the
// copy (a table's row count, the events or their root, the latest checkpoint: the message names
// which); INTERNAL when PostgreSQL refuses a row.
Result<CopyReport> CopySqliteToPostgres(const CopyOptions& options);

}  // namespace vouch::store
