#include "vouch/service/seed.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "vouch/service/registry.h"

namespace vouch::service {
namespace {

// A Store over one open transaction: every Read and Write the service asks for runs inside `tx`,
// so many service calls commit (or roll back) together with the transaction that made this.
// A call that fails may leave part of its work in `tx`: the caller must then fail the whole
// transaction, which SeedRegistry does. Used by one thread.
class OneTransactionStore final : public store::Store {
 public:
  explicit OneTransactionStore(store::Tx& tx) : tx_(tx) {}
  Status Read(const std::function<Status(store::Tx&)>& fn) override { return fn(tx_); }
  Status Write(const std::function<Status(store::Tx&)>& fn) override { return fn(tx_); }
  Status Ready() override { return OkStatus(); }
  std::string Describe() const override { return "one transaction"; }

 private:
  store::Tx& tx_;
};

Status CheckPlan(const SeedPlan& plan) {
  if (plan.models < 0 || plan.models > 10'000'000) {
    return InvalidArgument("models must be between 0 and 10000000");
  }
  if (plan.versions < 0 || plan.versions > 10'000'000) {
    return InvalidArgument("versions must be between 0 and 10000000");
  }
  if (plan.batch < 1 || plan.batch > 100'000) {
    return InvalidArgument("batch must be between 1 and 100000");
  }
  if (plan.run_id_every < 0) return InvalidArgument("run_id_every must not be negative");
  if (plan.run_id_every > 0 && plan.run_id.empty()) {
    return InvalidArgument("run_id_every needs the run id to give those versions");
  }
  if (plan.versions > 0 && plan.big_model.empty()) {
    return InvalidArgument("versions need the name of the model to hold them");
  }
  return OkStatus();
}

std::string ModelName(const SeedPlan& plan, int64_t index) {
  const int width = std::max<int>(5, static_cast<int>(fmt::formatted_size("{}", plan.models - 1)));
  return fmt::format("{}{:0{}}", plan.model_prefix, index, width);
}

}  // namespace

Result<SeedReport> SeedRegistry(store::Store& store, const Clock& clock, const SeedPlan& plan,
                                const std::function<void(const SeedReport&)>& progress) {
  VOUCH_TRY(CheckPlan(plan));
  RequestContext ctx = SystemContext(clock);
  ctx.user_agent = "vouch dev seed";
  ctx.request_id = "seed";
  SeedReport report;
  // `calls(reg, i)` is the i-th service call of a kind; `count` of them, `batch` per transaction.
  auto run = [&](int64_t count, const std::function<Status(RegistryService&, int64_t)>& call,
                 int64_t SeedReport::*counter) -> Status {
    for (int64_t first = 0; first < count; first += plan.batch) {
      const int64_t last = std::min(count, first + plan.batch);
      // A batch of changes, each through the registry's own executor over this one transaction,
      // each recording its event; the batch adds nothing of its own.
      VOUCH_TRY(store.Write([&](store::Tx& tx) -> Status {
        OneTransactionStore one(tx);
        RegistryService registry(one, PageTokens("seed: page tokens are not used"));
        for (int64_t i = first; i < last; ++i) VOUCH_TRY(call(registry, i));
        return OkStatus();
      }));
      report.*counter += last - first;
      ++report.transactions;
      if (progress) progress(report);
    }
    return OkStatus();
  };
  VOUCH_TRY(run(
      plan.models,
      [&](RegistryService& registry, int64_t i) {
        CreateModelArgs args{.name = ModelName(plan, i),
                             .tags = {{"group", fmt::format("g{}", i % 100)}}};
        return registry.CreateModel(ctx, args).status();
      },
      &SeedReport::models));
  if (plan.versions > 0) {
    VOUCH_TRY(run(
        1,
        [&](RegistryService& registry, int64_t) {
          return registry.CreateModel(ctx, {.name = plan.big_model}).status();
        },
        &SeedReport::models));
    VOUCH_TRY(run(
        plan.versions,
        [&](RegistryService& registry, int64_t i) {
          const int64_t n = i + 1;
          CreateVersionArgs args{.model = plan.big_model,
                                 .source = fmt::format("s3://seed/{}/{}", plan.big_model, n),
                                 .run_id = plan.run_id_every > 0 && n % plan.run_id_every == 0
                                               ? plan.run_id
                                               : fmt::format("{:032x}", n),
                                 .tags = {{"group", fmt::format("g{}", n % 100)}}};
          return registry.CreateVersion(ctx, args).status();
        },
        &SeedReport::versions));
  }
  return report;
}

}  // namespace vouch::service
