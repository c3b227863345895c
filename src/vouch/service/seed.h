// Seeding a large registry for tests and benchmarks (`vouch dev seed`): models and versions made
// through RegistryService::CreateModel and CreateVersion, so each row is checked, stored and
// audited exactly as any front door would have it, but `batch` calls share one store transaction,
// so a registry of 100,000 versions takes seconds rather than one fsync each. Not for production
// data: every event names the `system` principal and the user agent "vouch dev seed".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "vouch/store/store.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::service {

struct SeedPlan {
  // Models named <model_prefix><index>, the index zero-padded to at least five digits (m00000 …
  // m19999), each with the tag group = g<index % 100>.
  int64_t models = 0;
  std::string model_prefix = "m";
  // One model of that name with `versions` versions (when versions > 0), version n with source
  // s3://seed/<name>/<n>, a run id of 32 hex digits and the tag group = g<n % 100>.
  int64_t versions = 0;
  std::string big_model = "big";
  // When > 0, every run_id_every-th version (n % run_id_every == 0) has the run id `run_id`
  // instead, so that a filter on it matches a known share (versions / run_id_every) of them.
  int64_t run_id_every = 0;
  std::string run_id;
  int batch = 5000;  // service calls per transaction, 1..100000
};

struct SeedReport {
  int64_t models = 0;    // models created (the big one included)
  int64_t versions = 0;  // versions created
  int64_t transactions = 0;
};

// Seeds `store` (migrated; no server writing to it: SQLite's lock sees to that) by `plan`, calling
// `progress` after each committed transaction. INVALID_ARGUMENT for a plan out of range; otherwise
// the code of the first refused call (ALREADY_EXISTS when a model of a seeded name exists); the
// transaction it was in then leaves nothing, earlier ones stay committed.
Result<SeedReport> SeedRegistry(store::Store& store, const Clock& clock, const SeedPlan& plan,
                                const std::function<void(const SeedReport&)>& progress = {});

}  // namespace vouch::service
