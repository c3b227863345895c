// The shared store suite (store_test_suite.h), the notification store (issue 13): subscriptions,
// the outbox's fan-out, claims, deliveries, the attempts' ledger and retention. Written against
// store::Store and store::Tx only; every backend that instantiates StoreSuite runs these too.
#include <fmt/format.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vouch/store/store_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

void MustWrite(Store& s, const std::function<Status(Tx&)>& fn) {
  Status st = s.Write(fn);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

int64_t AddOwner(Store& s, std::string name = "owner") {
  Principal p{.name = std::move(name)};
  Status st = s.Write([&](Tx& tx) { return tx.InsertPrincipal(p, kT0); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p.id;
}

// Appends an audit event with an outbox row (as audit::Append does for a done event); returns
// its sequence number.
int64_t AddEvent(Store& s, std::string action = "model_version.created", TimeMs when = kT0) {
  int64_t seq = 0;
  AuditEvent e;
  e.time_ms = when;
  e.actor_id = 7;
  e.actor_name = "alice";
  e.action = action;
  MustWrite(s, [&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(seq, tx.AppendAuditEvent(e, [&](int64_t n) -> Result<std::string> {
      return fmt::format(R"({{"action":"{}","seq":{}}})", action, n);
    }));
    return tx.EnqueueOutbox(seq, action, fmt::format(R"({{"seq":{}}})", seq), when);
  });
  return seq;
}

WebhookRecord NewWebhook(int64_t owner, int64_t after_seq = 0, std::string name = "ci") {
  return WebhookRecord{.name = std::move(name),
                       .description = "tell CI",
                       .url = "https://ci.example/hook",
                       .events = R"(["request.*"])",
                       .model_pattern = "fraud-*",
                       .format = "vouch",
                       .email_to = "[]",
                       .secret = "sealed",
                       .owner_id = owner,
                       .after_seq = after_seq,
                       .created_ms = kT0,
                       .updated_ms = kT0};
}

WebhookRecord AddWebhook(Store& s, WebhookRecord w) {
  MustWrite(s, [&](Tx& tx) { return tx.InsertWebhook(w); });
  return w;
}

DeliveryRecord NewDelivery(int64_t webhook_id, int64_t seq, TimeMs due = kT0) {
  return DeliveryRecord{.uid = fmt::format("d-{}-{}", webhook_id, seq),
                        .webhook_id = webhook_id,
                        .event_seq = seq,
                        .action = "model_version.created",
                        .next_attempt_ms = due,
                        .created_ms = kT0};
}

DeliveryRecord AddDelivery(Store& s, DeliveryRecord d) {
  bool inserted = false;
  MustWrite(s, [&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(inserted, tx.InsertDelivery(d));
    return OkStatus();
  });
  EXPECT_TRUE(inserted);
  return d;
}

std::optional<int64_t> Claim(Store& s, std::string server, TimeMs now, TimeMs until) {
  std::optional<int64_t> id;
  MustWrite(s, [&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(id, tx.ClaimWebhook(server, now, until));
    return OkStatus();
  });
  return id;
}

TEST_P(StoreSuite, WebhooksKeepEveryFieldAndUpdateAllButTheirOrigin) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner, 41));
  ASSERT_GT(w.id, 0);
  auto found = Query(store(), [&](Tx& tx) { return tx.FindWebhook(w.id); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "ci");
  EXPECT_EQ(found->description, "tell CI");
  EXPECT_EQ(found->url, "https://ci.example/hook");
  EXPECT_EQ(found->events, R"(["request.*"])");
  EXPECT_EQ(found->model_pattern, "fraud-*");
  EXPECT_EQ(found->format, "vouch");
  EXPECT_EQ(found->email_to, "[]");
  EXPECT_EQ(found->secret, "sealed");
  EXPECT_EQ(found->status, WebhookStatus::kActive);
  EXPECT_EQ(found->owner_id, owner);
  EXPECT_EQ(found->after_seq, 41);
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_FALSE(found->deleted_ms.has_value());

  WebhookRecord changed = *found;
  changed.url = "https://ci.example/other";
  changed.status = WebhookStatus::kDisabled;
  changed.secret = "";
  changed.updated_ms = kT0 + 9;
  changed.owner_id = owner + 100;  // not written
  changed.after_seq = 1;           // not written
  auto updated = Change(store(), [&](Tx& tx) { return tx.UpdateWebhook(changed); });
  EXPECT_TRUE(updated);
  found = Query(store(), [&](Tx& tx) { return tx.FindWebhook(w.id); });
  EXPECT_EQ(found->url, "https://ci.example/other");
  EXPECT_EQ(found->status, WebhookStatus::kDisabled);
  EXPECT_EQ(found->secret, "");
  EXPECT_EQ(found->updated_ms, kT0 + 9);
  EXPECT_EQ(found->owner_id, owner);
  EXPECT_EQ(found->after_seq, 41);

  WebhookRecord unknown = changed;
  unknown.id = w.id + 1000;
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.UpdateWebhook(unknown); }));
}

TEST_P(StoreSuite, DeletedWebhooksAreListedOnRequestOnlyAndTheirPendingDeliveriesSkipped) {
  int64_t alice = AddOwner(store(), "alice");
  int64_t bob = AddOwner(store(), "bob");
  WebhookRecord a1 = AddWebhook(store(), NewWebhook(alice, 0, "a1"));
  WebhookRecord b1 = AddWebhook(store(), NewWebhook(bob, 0, "b1"));
  WebhookRecord a2 = AddWebhook(store(), NewWebhook(alice, 0, "a2"));
  int64_t seq = AddEvent(store());
  DeliveryRecord pending = AddDelivery(store(), NewDelivery(a2.id, seq));

  a2.deleted_ms = kT0 + 5;
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateWebhook(a2); }));
  // A deleted one cannot be changed again.
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.UpdateWebhook(a2); }));
  auto d = Query(store(), [&](Tx& tx) { return tx.FindDelivery(pending.id); });
  EXPECT_EQ(d->state, DeliveryState::kSkipped);
  EXPECT_EQ(d->finished_ms, kT0 + 5);
  EXPECT_EQ(d->last_error, "the subscription was deleted");

  auto names = [&](const WebhookFilter& f) {
    std::vector<std::string> out;
    for (const auto& w : Query(store(), [&](Tx& tx) { return tx.ListWebhooks(f); })) {
      out.push_back(w.name);
    }
    return out;
  };
  EXPECT_EQ(names({}), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(names({.owner_id = alice}), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(names({.include_deleted = true}), (std::vector<std::string>{"a1", "b1", "a2"}));
  EXPECT_EQ(names({.after_id = a1.id, .limit = 1}), (std::vector<std::string>{"b1"}));
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.FindWebhook(a2.id); })->deleted_ms);
  (void)b1;
}

TEST_P(StoreSuite, WebhooksForAnEventAreTheLiveActiveOnesMadeBeforeIt) {
  int64_t owner = AddOwner(store());
  WebhookRecord early = AddWebhook(store(), NewWebhook(owner, 10, "early"));
  WebhookRecord late = AddWebhook(store(), NewWebhook(owner, 20, "late"));
  WebhookRecord off = NewWebhook(owner, 0, "off");
  off.status = WebhookStatus::kDisabled;
  AddWebhook(store(), off);
  auto names = [&](int64_t seq) {
    std::vector<std::string> out;
    for (const auto& w : Query(store(), [&](Tx& tx) { return tx.WebhooksFor(seq); })) {
      out.push_back(w.name);
    }
    return out;
  };
  EXPECT_EQ(names(10), std::vector<std::string>{});
  EXPECT_EQ(names(11), std::vector<std::string>{"early"});
  EXPECT_EQ(names(21), (std::vector<std::string>{"early", "late"}));
  (void)early;
  (void)late;
}

TEST_P(StoreSuite, OutboxRowsAreFannedOutOnceInOrder) {
  int64_t s1 = AddEvent(store(), "model.created");
  int64_t s2 = AddEvent(store(), "model_version.created");
  auto rows = Query(store(), [](Tx& tx) { return tx.NextOutboxRows(10); });
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].event_seq, s1);
  EXPECT_EQ(rows[0].topic, "model.created");
  EXPECT_EQ(rows[0].payload, fmt::format(R"({{"seq":{}}})", s1));
  EXPECT_EQ(rows[1].event_seq, s2);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkOutboxFannedOut(rows[0].id, kT0 + 1); });
  rows = Query(store(), [](Tx& tx) { return tx.NextOutboxRows(10); });
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].event_seq, s2);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.NextOutboxRows(0); }).size(), 0u);
}

TEST_P(StoreSuite, TheOldestUnfannedSeqFollowsTheFanOut) {
  auto oldest = [&] { return Query(store(), [](Tx& tx) { return tx.OldestUnfannedSeq(); }); };
  EXPECT_EQ(oldest(), std::nullopt);
  int64_t s1 = AddEvent(store(), "model.created");
  int64_t s2 = AddEvent(store(), "model.updated");
  EXPECT_EQ(oldest(), s1);
  auto rows = Query(store(), [](Tx& tx) { return tx.NextOutboxRows(10); });
  ASSERT_EQ(rows.size(), 2u);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkOutboxFannedOut(rows[0].id, kT0 + 1); });
  EXPECT_EQ(oldest(), s2);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkOutboxFannedOut(rows[1].id, kT0 + 2); });
  EXPECT_EQ(oldest(), std::nullopt);
}

TEST_P(StoreSuite, ASubscriptionHasOneDeliveryPerEvent) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner));
  int64_t seq = AddEvent(store());
  DeliveryRecord d = AddDelivery(store(), NewDelivery(w.id, seq));
  EXPECT_GT(d.id, 0);
  DeliveryRecord again = NewDelivery(w.id, seq);
  again.uid = "another";
  auto inserted = Change(store(), [&](Tx& tx) { return tx.InsertDelivery(again); });
  EXPECT_FALSE(inserted);
  auto by_uid = Query(store(), [&](Tx& tx) { return tx.FindDeliveryByUid(d.uid); });
  ASSERT_TRUE(by_uid.has_value());
  EXPECT_EQ(by_uid->id, d.id);
  EXPECT_EQ(by_uid->state, DeliveryState::kPending);
  EXPECT_EQ(by_uid->attempts, 0);
  EXPECT_FALSE(by_uid->last_status.has_value());
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindDeliveryByUid("none"); }));
}

TEST_P(StoreSuite, AClaimTakesASubscriptionWhoseHeadIsDueAndHoldsItUntilGivenBack) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner));
  EXPECT_FALSE(Claim(store(), "s1", kT0, kT0 + 100)) << "nothing pending";
  int64_t s1 = AddEvent(store());
  int64_t s2 = AddEvent(store());
  // The head (the oldest event) is not due yet, the later one is: in order, so nothing to claim.
  AddDelivery(store(), NewDelivery(w.id, s1, kT0 + 50));
  AddDelivery(store(), NewDelivery(w.id, s2, kT0));
  EXPECT_FALSE(Claim(store(), "s1", kT0, kT0 + 100));
  EXPECT_EQ(Claim(store(), "s1", kT0 + 50, kT0 + 150), w.id);
  EXPECT_FALSE(Claim(store(), "s2", kT0 + 60, kT0 + 160)) << "held by s1";
  auto head = Query(store(), [&](Tx& tx) { return tx.HeadDelivery(w.id); });
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->event_seq, s1);

  EXPECT_FALSE(
      Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(w.id, "s2", kT0 + 999); }));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(w.id, "s1", kT0 + 200); }));
  EXPECT_FALSE(Claim(store(), "s2", kT0 + 190, kT0 + 300)) << "renewed";
  // Run out: another server takes it, and the first one's renewal then fails.
  EXPECT_EQ(Claim(store(), "s2", kT0 + 200, kT0 + 300), w.id);
  EXPECT_FALSE(
      Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(w.id, "s1", kT0 + 400); }));
  // Given back: free at once.
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(w.id, "s2", kT0 + 210); }));
  EXPECT_EQ(Claim(store(), "s1", kT0 + 210, kT0 + 300), w.id);
}

TEST_P(StoreSuite, ClaimsSkipDisabledAndDeletedSubscriptionsAndServeTheLeastRecentFirst) {
  int64_t owner = AddOwner(store());
  WebhookRecord a = AddWebhook(store(), NewWebhook(owner, 0, "a"));
  WebhookRecord b = AddWebhook(store(), NewWebhook(owner, 0, "b"));
  WebhookRecord off = NewWebhook(owner, 0, "off");
  off.status = WebhookStatus::kDisabled;
  off = AddWebhook(store(), off);
  int64_t seq = AddEvent(store());
  AddDelivery(store(), NewDelivery(a.id, seq));
  AddDelivery(store(), NewDelivery(b.id, seq));
  AddDelivery(store(), NewDelivery(off.id, seq));
  EXPECT_EQ(Claim(store(), "s1", kT0, kT0 + 100), a.id);
  EXPECT_EQ(Claim(store(), "s1", kT0, kT0 + 100), b.id);
  EXPECT_FALSE(Claim(store(), "s1", kT0, kT0 + 100));
  // a given back later than b: b comes first next time.
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(b.id, "s1", kT0 + 1); }));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RenewWebhookClaim(a.id, "s1", kT0 + 2); }));
  EXPECT_EQ(Claim(store(), "s1", kT0 + 5, kT0 + 100), b.id);
}

TEST_P(StoreSuite, DeliveriesRecordTheirOutcomeAndAttemptsFormALedger) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner));
  int64_t seq = AddEvent(store());
  DeliveryRecord d = AddDelivery(store(), NewDelivery(w.id, seq));

  DeliveryAttempt first{.delivery_id = d.id, .attempt = 1, .server = "s1", .started_ms = kT0};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertAttempt(first); });
  first.latency_ms = 12;
  first.status = 500;
  first.response = "oops";
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateAttempt(first); }));
  DeliveryAttempt second{.delivery_id = d.id, .attempt = 2, .server = "s2", .started_ms = kT0 + 9};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertAttempt(second); });
  // The same attempt twice is refused.
  Status twice = store().Write([&](Tx& tx) { return tx.InsertAttempt(second); });
  EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists) << twice.ToString();

  auto attempts = Query(store(), [&](Tx& tx) { return tx.ListAttempts(d.id); });
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[0].server, "s1");
  EXPECT_EQ(attempts[0].latency_ms, 12);
  EXPECT_EQ(attempts[0].status, 500);
  EXPECT_EQ(attempts[0].response, "oops");
  EXPECT_EQ(attempts[1].attempt, 2);
  EXPECT_FALSE(attempts[1].latency_ms.has_value()) << "in flight";
  EXPECT_FALSE(attempts[1].status.has_value());

  d.state = DeliveryState::kDelivered;
  d.attempts = 2;
  d.finished_ms = kT0 + 10;
  d.last_status = 204;
  d.last_latency_ms = 3;
  d.last_response = "";
  d.last_error = "";
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateDelivery(d); }));
  auto found = Query(store(), [&](Tx& tx) { return tx.FindDelivery(d.id); });
  EXPECT_EQ(found->state, DeliveryState::kDelivered);
  EXPECT_EQ(found->attempts, 2);
  EXPECT_EQ(found->finished_ms, kT0 + 10);
  EXPECT_EQ(found->last_status, 204);
  EXPECT_EQ(found->last_latency_ms, 3);
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.HeadDelivery(w.id); }).has_value());
}

TEST_P(StoreSuite, DeliveriesAreListedNewestFirstByStateAndRedeliveredWhenDead) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner));
  WebhookRecord other = AddWebhook(store(), NewWebhook(owner, 0, "other"));
  std::vector<DeliveryRecord> ds;
  for (int i = 0; i < 3; ++i)
    ds.push_back(AddDelivery(store(), NewDelivery(w.id, AddEvent(store()))));
  AddDelivery(store(), NewDelivery(other.id, ds[0].event_seq));
  for (int i : {0, 2}) {
    ds[i].state = DeliveryState::kDead;
    ds[i].attempts = 5;
    ds[i].finished_ms = kT0 + 7;
    ds[i].last_error = "gave up";
    EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateDelivery(ds[i]); }));
  }
  auto ids = [&](const DeliveryFilter& f) {
    std::vector<int64_t> out;
    for (const auto& d : Query(store(), [&](Tx& tx) { return tx.ListDeliveries(f); })) {
      out.push_back(d.id);
    }
    return out;
  };
  EXPECT_EQ(ids({.webhook_id = w.id}), (std::vector<int64_t>{ds[2].id, ds[1].id, ds[0].id}));
  EXPECT_EQ(ids({.webhook_id = w.id, .state = DeliveryState::kDead}),
            (std::vector<int64_t>{ds[2].id, ds[0].id}));
  EXPECT_EQ(ids({.webhook_id = w.id, .before_id = ds[2].id, .limit = 1}),
            (std::vector<int64_t>{ds[1].id}));
  EXPECT_EQ(ids({}).size(), 4u);
  auto counts = Query(store(), [](Tx& tx) { return tx.CountDeliveries(); });
  EXPECT_EQ(counts, (std::vector<int64_t>{2, 0, 2, 0}));

  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RedeliverDead(w.id, kT0 + 20); }), 2);
  auto back = Query(store(), [&](Tx& tx) { return tx.FindDelivery(ds[2].id); });
  EXPECT_EQ(back->state, DeliveryState::kPending);
  EXPECT_EQ(back->next_attempt_ms, kT0 + 20);
  EXPECT_FALSE(back->finished_ms.has_value());
  EXPECT_EQ(back->attempts, 5) << "attempts go on counting";
  EXPECT_EQ(back->uid, ds[2].uid);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RedeliverDead(w.id, kT0 + 30); }), 0);
}

TEST_P(StoreSuite, RetentionPrunesFinishedDeliveriesAndOutboxRowsButNeverPendingOnes) {
  int64_t owner = AddOwner(store());
  WebhookRecord w = AddWebhook(store(), NewWebhook(owner));
  int64_t done_seq = AddEvent(store());
  int64_t pending_seq = AddEvent(store());
  int64_t dead_seq = AddEvent(store());
  for (const auto& row : Query(store(), [](Tx& tx) { return tx.NextOutboxRows(10); })) {
    MustWrite(store(), [&](Tx& tx) { return tx.MarkOutboxFannedOut(row.id, kT0 + 1); });
  }
  DeliveryRecord done = AddDelivery(store(), NewDelivery(w.id, done_seq));
  DeliveryRecord pending = AddDelivery(store(), NewDelivery(w.id, pending_seq));
  DeliveryRecord dead = AddDelivery(store(), NewDelivery(w.id, dead_seq));
  MustWrite(store(), [&](Tx& tx) {
    return tx.InsertAttempt(
        {.delivery_id = done.id, .attempt = 1, .server = "s", .started_ms = kT0});
  });
  done.state = DeliveryState::kDelivered;
  done.finished_ms = kT0 + 2;
  dead.state = DeliveryState::kDead;
  dead.finished_ms = kT0 + 50;
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateDelivery(done); }));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.UpdateDelivery(dead); }));

  // Cutoff after `done` finished, before `dead` did: done, its attempt and its outbox row go.
  auto pruned = Change(store(), [](Tx& tx) { return tx.PruneNotifications(kT0 + 10); });
  EXPECT_EQ(pruned, 3);
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindDelivery(done.id); }).has_value());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.FindDelivery(pending.id); }).has_value());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.FindDelivery(dead.id); }).has_value());
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.OutboxPayload(done_seq); }).has_value());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.OutboxPayload(pending_seq); }).has_value());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.OutboxPayload(dead_seq); }).has_value());
  // Much later: the dead one goes too; the pending one and its payload never.
  EXPECT_EQ(Change(store(), [](Tx& tx) { return tx.PruneNotifications(kT0 + 1'000'000); }), 2);
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.FindDelivery(pending.id); }).has_value());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.OutboxPayload(pending_seq); }).has_value());
}

}  // namespace
}  // namespace vouch::store::testing
