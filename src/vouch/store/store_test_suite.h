// The one store test suite every backend passes (STYLE.md rule 8, docs/design.md "Storage").
//
// The tests (store_test_suite_test.cc) are written against store::Store and store::Tx only. A
// backend instantiates them with a factory that makes a fresh, empty store for each test:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreSuite,
//                            ::testing::Values(StoreBackend{"Sqlite", [] { return ...; }}),
//                            StoreBackendName);
//
// Nothing here knows which backend runs.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>

#include "vouch/store/store.h"

namespace vouch::store::testing {

// One store for one test, with whatever it needs to live (a temporary file, a scratch schema);
// everything is released when it is destroyed.
class StoreEnv {
 public:
  virtual ~StoreEnv() = default;
  virtual Store& store() = 0;
};

struct StoreBackend {
  std::string name;  // the instantiation's suffix in test names: "Sqlite", "Postgres"
  // A fresh, empty, migrated store. nullptr (with a test failure added) when it cannot be made.
  std::function<std::unique_ptr<StoreEnv>()> make;
};

inline std::ostream& operator<<(std::ostream& os, const StoreBackend& b) { return os << b.name; }

inline std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

// Runs `f` (Tx& -> Result<T>) in a read (Query) or a write (Change) and returns its value; a
// failure is a test failure and yields T{}.
template <typename F>
auto RunForValue(Store& s, bool write, F f) {
  using R = std::decay_t<decltype(f(std::declval<Tx&>()))>;
  using T = std::decay_t<decltype(std::declval<R&>().value())>;
  std::optional<T> out;
  auto body = [&](Tx& tx) -> Status {
    auto r = f(tx);
    if (!r.ok()) return r.status();
    out = std::move(r).value();
    return OkStatus();
  };
  Status st = write ? s.Write(body) : s.Read(body);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out.value_or(T{});
}

template <typename F>
auto Query(Store& s, F f) {
  return RunForValue(s, false, std::move(f));
}

template <typename F>
auto Change(Store& s, F f) {
  return RunForValue(s, true, std::move(f));
}

// Publishes policy "p" and opens a request on version 1 of model "m" (which must exist) with one
// signed review: the rows the backends' immutability tests then try to change behind the store.
inline Status PublishPolicyWithSignedReview(Tx& tx, TimeMs when) {
  PolicyRecord p{.name = "p",
                 .target = "stage:Production",
                 .body = R"({"a":1})",
                 .digest = std::string(64, 'd'),
                 .created_ms = when};
  VOUCH_TRY(tx.PublishPolicy(p));
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow("m"));
  if (!m) return NotFound("model m");
  ApprovalRequest r{.model_id = m->id,
                    .version = 1,
                    .target = "stage:Production",
                    .requester_id = 1,
                    .created_ms = when,
                    .updated_ms = when};
  VOUCH_TRY(tx.InsertRequest(r));
  ApprovalReview v{.request_id = r.id,
                   .reviewer_id = 2,
                   .printed_name = "Ana",
                   .fingerprint = "f1",
                   .created_ms = when};
  return tx.InsertReview(v);
}

class StoreSuite : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr) << "the " << GetParam().name << " backend could not make a store";
  }
  void TearDown() override { env_.reset(); }

  Store& store() { return env_->store(); }

 private:
  std::unique_ptr<StoreEnv> env_;
};

}  // namespace vouch::store::testing
