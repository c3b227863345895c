// Keeping the audit log's Merkle tree whole at open (issue 14, migration 0015): the tree of a log
// written before the tree existed is built once, before anything is served; and the benchmark-only
// switch that turns tree updates off poisons the store for good.
#pragma once

#include <cstdint>

#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::store {

struct AuditTreeBuild {
  uint64_t hashed = 0;     // events hashed into the tree by this call
  uint64_t size = 0;       // the tree's size afterwards: the log's length
  int64_t elapsed_ms = 0;  // how long it took
};

// Brings the tree up to the log: hashes the events it lacks, in sequence order, `batch` events a
// write transaction, so that a build that is killed resumes where the stored edge says it got to.
// Logs how many events it hashed and how long it took (when it hashed any). FAILED_PRECONDITION
// when the store was written with tree updates off; DATA_LOSS when the log has a gap; the store's
// codes otherwise.
Result<AuditTreeBuild> BuildAuditTree(Store& store, int batch = 4096);

// Benchmarks only: marks the store as written without its tree, for good. Every later open with
// the tree on refuses it (PrepareAuditTree) and `vouch audit verify` fails on it.
Status SwitchAuditTreeOff(Store& store);

// What a store's open does: with `tree_off`, SwitchAuditTreeOff (and a loud warning); otherwise
// BuildAuditTree, refusing (FAILED_PRECONDITION, naming `where`) a store whose tree was switched
// off.
Status PrepareAuditTree(Store& store, bool tree_off, std::string_view where);

}  // namespace vouch::store
