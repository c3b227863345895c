// The store benchmarks' workload, shared by bench/micro/store_bench.cc and
// bench/soci/soci_vs_sql_tx_bench.cc so that both measure the same thing: one model, "bench-model",
// with kSeedVersions versions (three tags, three metrics, two params each) and two aliases;
// create-version's statements in one transaction (lock the model row, insert the version, update
// the model, append the audit event with a 700-byte line and its outbox row); get-version's reads.
// Header-only; benchmarks only.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>

#include "vouch/store/store.h"

namespace vouch::bench {

inline constexpr char kModel[] = "bench-model";
inline constexpr int kSeedVersions = 200;
// An audit line of about the size create-version writes.
inline const std::string kAuditBody(700, 'x');

inline ModelVersion NewVersion(int64_t model_id, int64_t number) {
  ModelVersion v;
  v.model_id = model_id;
  v.model_name = kModel;
  v.version = number;
  v.source = "s3://bucket/models/bench-model/" + std::to_string(number) + "/model.tar.gz";
  v.run_id = "9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b";
  v.status = "READY";
  v.created_ms = v.updated_ms = 1764079200123 + number;
  v.created_by = "admin";
  v.tags = {{"commit", "1a2b3c4d"}, {"team", "risk"}, {"dataset", "2026-11"}};
  v.metrics = {{"auc", 0.9312}, {"f1", 0.871}, {"latency_ms", 12.5}};
  v.params = {{"lr", "0.1"}, {"max_depth", "8"}};
  return v;
}

// Appends the next version to the model as create-version does, with its audit event and outbox
// row.
inline Status CreateVersion(store::Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(kModel));
  if (!m) return NotFound("no bench model");
  ModelVersion v = NewVersion(m->id, m->last_version + 1);
  VOUCH_TRY(tx.InsertVersion(v));
  m->last_version = v.version;
  m->updated_ms = v.created_ms;
  VOUCH_TRY(tx.UpdateModel(*m));
  AuditEvent e;
  e.time_ms = v.created_ms;
  e.actor_id = 1;
  e.actor_name = "admin";
  e.action = "model_version.created";
  e.model_id = m->id;
  e.model_name = kModel;
  e.version = v.version;
  VOUCH_ASSIGN_OR_RETURN(int64_t seq, tx.AppendAuditEvent(e, [](int64_t n) -> Result<std::string> {
    return kAuditBody + std::to_string(n);
  }));
  return tx.EnqueueOutbox(seq, "model_version.created", "{}", v.created_ms);
}

// The model, kSeedVersions versions, and the aliases champion (the middle version) and challenger
// (the one after).
inline Status Seed(store::Store& store) {
  VOUCH_TRY(store.Write([](store::Tx& tx) -> Status {
    Model m;
    m.name = kModel;
    m.description = "a model for the store benchmarks";
    m.created_ms = m.updated_ms = 1764079200000;
    m.created_by = "admin";
    m.tags = {{"owner", "risk"}, {"tier", "1"}};
    return tx.InsertModel(m);
  }));
  for (int i = 0; i < kSeedVersions; ++i) VOUCH_TRY(store.Write(CreateVersion));
  return store.Write([](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(kModel));
    VOUCH_TRY(tx.SetAlias(m->id, "champion", kSeedVersions / 2));
    return tx.SetAlias(m->id, "challenger", kSeedVersions / 2 + 1);
  });
}

// get-version's reads of version `number` (champion or challenger: one alias each), checked.
inline Status ReadVersion(store::Tx& tx, int64_t number) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel(kModel));
  VOUCH_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, tx.FindVersion(m->id, number));
  if (!v || v->tags.size() != 3 || v->aliases.size() != 1) return Internal("bad read");
  benchmark::DoNotOptimize(v);
  return OkStatus();
}

}  // namespace vouch::bench
