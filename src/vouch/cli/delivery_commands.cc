// webhooks test | deliveries | delivery | redeliver: a subscription's test delivery and its ledger
// (issue 13; docs/notifications.md), added under the `webhooks` command.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"

namespace vouch::cli {
namespace {

struct DeliveryArgs {
  std::string webhook;
  std::string delivery;
  std::string state;
  int64_t limit = 0;
  bool all_dead = false;
};

std::vector<Column> DeliveryColumns() {
  return {TextColumn("id"),
          TextColumn("uid"),
          TextColumn("event_seq", "SEQ"),
          TextColumn("action"),
          TextColumn("state"),
          TextColumn("attempts"),
          TextColumn("last_status"),
          TextColumn("last_error"),
          TimeColumn("creation_timestamp", "CREATED")};
}

Result<std::string> WebhookPath(std::string_view id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, ParsePositiveInt(id, "webhook id"));
  return fmt::format("/api/v1/webhooks/{}", n);
}

// A delivery by its number or its uid (letters, digits and dashes).
Result<std::string> DeliveryPath(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               ch == '-';
      })) {
    return InvalidArgument(fmt::format("'{}' is not a delivery id (a number or a uid)", id));
  }
  return fmt::format("/api/v1/deliveries/{}", id);
}

}  // namespace

void AddDeliveryCommands(CLI::App& webhooks, Action& chosen) {
  auto a = std::make_shared<DeliveryArgs>();

  CLI::App* test = webhooks.add_subcommand(
      "test", "Send a sample event to a subscription now and show the answer (not in the ledger)");
  test->add_option("ID", a->webhook, "Webhook id")->required();
  OnSelect(*test, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = WebhookPath(a->webhook);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunObject(WithBody("POST", *path + "/test", json::object{}),
                       {TextColumn("delivered"), TextColumn("status"), TextColumn("latency_ms"),
                        TextColumn("error")});
  });

  CLI::App* list =
      webhooks.add_subcommand("deliveries", "A subscription's deliveries, newest first");
  list->add_option("ID", a->webhook, "Webhook id")->required();
  list->add_option("--state", a->state, "Only these: pending, delivered, dead or skipped")
      ->check(CLI::IsMember({"pending", "delivered", "dead", "skipped"}));
  list->add_option("--limit", a->limit, "Print at most this many");
  OnSelect(*list, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = WebhookPath(a->webhook);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    ListRequest r{
        .path = *path + "/deliveries", .items_field = "deliveries", .columns = DeliveryColumns()};
    if (!a->state.empty()) r.query.emplace_back("state", a->state);
    if (a->limit > 0) r.limit = a->limit;
    return s.RunList(r);
  });

  CLI::App* show =
      webhooks.add_subcommand("delivery", "One delivery (by id or uid) with every attempt");
  show->add_option("DELIVERY", a->delivery, "Delivery id or uid")->required();
  OnSelect(*show, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = DeliveryPath(a->delivery);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunObject(Get(*path), DeliveryColumns());
  });

  CLI::App* redeliver = webhooks.add_subcommand(
      "redeliver", "Send a delivery again (same id), or every dead one of a subscription");
  redeliver->add_option("DELIVERY", a->delivery, "Delivery id or uid");
  redeliver->add_option("--webhook", a->webhook, "With --all-dead: the subscription");
  redeliver->add_flag("--all-dead", a->all_dead, "Every dead delivery of --webhook");
  OnSelect(*redeliver, chosen, [a](Session& s, const Clock&) -> int {
    if (a->all_dead) {
      if (a->webhook.empty() || !a->delivery.empty()) {
        return s.Fail("--all-dead goes with --webhook ID and no DELIVERY", kExitUsage);
      }
      Result<std::string> path = WebhookPath(a->webhook);
      if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
      return s.RunObject(WithBody("POST", *path + "/redeliver", json::object{}),
                         {TextColumn("redelivered")});
    }
    if (a->delivery.empty() || !a->webhook.empty()) {
      return s.Fail("give a DELIVERY, or --webhook ID --all-dead", kExitUsage);
    }
    Result<std::string> path = DeliveryPath(a->delivery);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunObject(WithBody("POST", *path + "/redeliver", json::object{}), DeliveryColumns());
  });
}

}  // namespace vouch::cli
