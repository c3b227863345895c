// The shared store suite (store_test_suite.h), identity part: principals, tokens, groups, roles,
// model permissions and web sessions. Written against store::Store and store::Tx only; every
// backend that instantiates StoreSuite runs these too.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "vouch/store/store_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

void MustWrite(Store& s, const std::function<Status(Tx&)>& fn) {
  Status st = s.Write(fn);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

Principal AddPrincipal(Store& s, std::string name, bool is_admin = false, bool disabled = false) {
  Principal p{.name = std::move(name), .is_admin = is_admin, .disabled = disabled};
  Status st = s.Write([&](Tx& tx) { return tx.InsertPrincipal(p, kT0); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

Group AddGroup(Store& s, std::string name) {
  Group g{.name = std::move(name), .description = "a group", .created_ms = kT0};
  Status st = s.Write([&](Tx& tx) { return tx.InsertGroup(g); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return g;
}

Model AddModel(Store& s, std::string name) {
  Model m{.name = std::move(name), .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
  Status st = s.Write([&](Tx& tx) { return tx.InsertModel(m); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

TokenRecord AddToken(Store& s, int64_t principal_id, std::string name, TimeMs created_ms) {
  TokenRecord t{.principal_id = principal_id,
                .name = name,
                .token_hash = std::string(60, 'a') + name,
                .created_ms = created_ms};
  Status st = s.Write([&](Tx& tx) { return tx.InsertToken(t); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return t;
}

void AddMember(Store& s, const Group& g, const Principal& p) {
  EXPECT_TRUE(Change(s, [&](Tx& tx) { return tx.AddGroupMember(g.id, p.id); }));
}

Grantee Of(const Principal& p) { return Grantee{.principal_id = p.id}; }
Grantee Of(const Group& g) { return Grantee{.group_id = g.id}; }

void SetPermission(Store& s, const Model& m, Grantee grantee, Permission permission) {
  MustWrite(s, [&](Tx& tx) {
    return tx.SetModelPermission({.model_id = m.id, .grantee = grantee, .permission = permission});
  });
}

void Grant(Store& s, std::string role, Grantee grantee) {
  EXPECT_TRUE(Change(
      s, [&](Tx& tx) { return tx.GrantRole({.role = std::move(role), .grantee = grantee}); }));
}

std::vector<std::string> Names(const std::vector<Principal>& principals) {
  std::vector<std::string> out;
  for (const auto& p : principals) out.push_back(p.name);
  return out;
}

std::vector<std::string> Names(const std::vector<Group>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) out.push_back(g.name);
  return out;
}

std::vector<std::string> Names(const std::vector<TokenRecord>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(t.name);
  return out;
}

// (model id, principal id, group id, permission) of each grant, in the order given.
using Row = std::tuple<int64_t, int64_t, int64_t, Permission>;
std::vector<Row> Rows(const std::vector<ModelPermission>& permissions) {
  std::vector<Row> out;
  for (const auto& p : permissions) {
    out.emplace_back(p.model_id, p.grantee.principal_id, p.grantee.group_id, p.permission);
  }
  return out;
}

std::vector<std::tuple<std::string, int64_t, int64_t>> Rows(const std::vector<RoleGrant>& grants) {
  std::vector<std::tuple<std::string, int64_t, int64_t>> out;
  for (const auto& g : grants) out.emplace_back(g.role, g.grantee.principal_id, g.grantee.group_id);
  return out;
}

// ---- Principals ------------------------------------------------------------------------------

TEST_P(StoreSuite, InsertedPrincipalIsFoundByNameIdAndTokenWithEveryField) {
  Principal p{.name = "bob",
              .kind = PrincipalKind::kServiceAccount,
              .is_admin = true,
              .disabled = false,
              .display_name = "Bob the Builder ✓",
              .email = "bob@example.com"};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertPrincipal(p, kT0 + 5); });
  EXPECT_GT(p.id, 0);
  TokenRecord t = AddToken(store(), p.id, "deploy", kT0);

  auto by_name = Query(store(), [](Tx& tx) { return tx.FindPrincipal("bob"); });
  auto by_id = Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(p.id); });
  auto by_token = Query(store(), [&](Tx& tx) { return tx.FindToken(t.token_hash); });
  ASSERT_TRUE(by_name.has_value());
  ASSERT_TRUE(by_id.has_value());
  ASSERT_TRUE(by_token.has_value());
  for (const Principal& found : {*by_name, *by_id, by_token->second}) {
    EXPECT_EQ(found.id, p.id);
    EXPECT_EQ(found.name, "bob");
    EXPECT_EQ(found.kind, PrincipalKind::kServiceAccount);
    EXPECT_TRUE(found.is_admin);
    EXPECT_FALSE(found.disabled);
    EXPECT_EQ(found.display_name, "Bob the Builder ✓");
    EXPECT_EQ(found.email, "bob@example.com");
    EXPECT_EQ(found.created_ms, kT0 + 5);
    EXPECT_TRUE(found.roles.empty());
    EXPECT_TRUE(found.group_ids.empty());
  }
  auto listed = Query(store(), [](Tx& tx) { return tx.ListPrincipals("", 10); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].display_name, "Bob the Builder ✓");
  EXPECT_EQ(listed[0].email, "bob@example.com");
  EXPECT_EQ(listed[0].created_ms, kT0 + 5);
  EXPECT_EQ(listed[0].kind, PrincipalKind::kServiceAccount);
  EXPECT_TRUE(listed[0].is_admin);
}

TEST_P(StoreSuite, UnknownPrincipalIsNotFoundByNameOrId) {
  Principal alice = AddPrincipal(store(), "alice");
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindPrincipal("Alice"); }));
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindPrincipal(""); }));
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(alice.id + 1); }));
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindPrincipalById(0); }));
}

TEST_P(StoreSuite, InsertingALivePrincipalNameTwiceIsAlreadyExists) {
  AddPrincipal(store(), "alice");
  Principal again{.name = "alice"};
  Status st = store().Write([&](Tx& tx) { return tx.InsertPrincipal(again, kT0); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPrincipals(); }), 1);
}

TEST_P(StoreSuite, UpdatePrincipalWritesDisplayNameEmailAdminAndDisabledOnly) {
  Principal p = AddPrincipal(store(), "carol");
  Principal changed = p;
  changed.name = "ignored";
  changed.kind = PrincipalKind::kServiceAccount;
  changed.display_name = "Carol";
  changed.email = "carol@example.com";
  changed.is_admin = true;
  changed.disabled = true;
  MustWrite(store(), [&](Tx& tx) { return tx.UpdatePrincipal(changed); });
  auto found = Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(p.id); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "carol");
  EXPECT_EQ(found->kind, PrincipalKind::kUser);
  EXPECT_EQ(found->display_name, "Carol");
  EXPECT_EQ(found->email, "carol@example.com");
  EXPECT_TRUE(found->is_admin);
  EXPECT_TRUE(found->disabled);
  EXPECT_EQ(found->created_ms, kT0);
  // A disabled principal is still live: found by name and listed.
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.FindPrincipal("carol"); }));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("", 10); })),
            (std::vector<std::string>{"carol"}));
}

TEST_P(StoreSuite, DeletedPrincipalIsFoundOnlyByIdAsDisabledAndItsNameIsReusableWithANewId) {
  Principal old = AddPrincipal(store(), "dave", /*is_admin=*/true);
  TokenRecord t = AddToken(store(), old.id, "t", kT0);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkPrincipalDeleted(old.id, kT0 + 1); });

  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindPrincipal("dave"); }));
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindToken(t.token_hash); }));
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListPrincipals("", 10); }).empty());
  auto by_id = Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(old.id); });
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->name, "dave");
  EXPECT_TRUE(by_id->disabled);
  EXPECT_TRUE(by_id->is_admin);

  Principal reused = AddPrincipal(store(), "dave");
  EXPECT_GT(reused.id, old.id);
  auto found = Query(store(), [](Tx& tx) { return tx.FindPrincipal("dave"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, reused.id);
  EXPECT_FALSE(found->disabled);
  EXPECT_FALSE(found->is_admin);
  auto still_old = Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(old.id); });
  ASSERT_TRUE(still_old.has_value());
  EXPECT_TRUE(still_old->disabled);
}

TEST_P(StoreSuite, ListPrincipalsOrdersByNameBytewiseAndPagesStrictlyAfterTheGivenName) {
  for (const char* name : {"bob", "Zed", "alice", "Bob", "carol", "0ps"}) {
    AddPrincipal(store(), name);
  }
  Principal gone = AddPrincipal(store(), "ann");
  MustWrite(store(), [&](Tx& tx) { return tx.MarkPrincipalDeleted(gone.id, kT0); });

  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("", 100); })),
            (std::vector<std::string>{"0ps", "Bob", "Zed", "alice", "bob", "carol"}));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("", 2); })),
            (std::vector<std::string>{"0ps", "Bob"}));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("Bob", 2); })),
            (std::vector<std::string>{"Zed", "alice"}));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("alice", 2); })),
            (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListPrincipals("b", 100); })),
            (std::vector<std::string>{"bob", "carol"}));
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListPrincipals("carol", 100); }).empty());
}

TEST_P(StoreSuite, PasswordHashIsEmptyUntilSetThenReadBackAndClearable) {
  Principal p = AddPrincipal(store(), "erin");
  Principal other = AddPrincipal(store(), "frank");
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.PasswordHash(p.id); }), "");
  const std::string hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
  MustWrite(store(), [&](Tx& tx) { return tx.SetPasswordHash(p.id, hash); });
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.PasswordHash(p.id); }), hash);
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.PasswordHash(other.id); }), "");
  MustWrite(store(), [&](Tx& tx) { return tx.SetPasswordHash(p.id, ""); });
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.PasswordHash(p.id); }), "");
}

TEST_P(StoreSuite, PasswordHashOfAnUnknownPrincipalIsNotFound) {
  Principal p = AddPrincipal(store(), "erin");
  Status read = store().Read([&](Tx& tx) { return tx.PasswordHash(p.id + 1).status(); });
  EXPECT_EQ(read.code(), StatusCode::kNotFound) << read.ToString();
  Status write = store().Write([&](Tx& tx) { return tx.SetPasswordHash(p.id + 1, "x"); });
  EXPECT_EQ(write.code(), StatusCode::kNotFound) << write.ToString();
}

TEST_P(StoreSuite, CountActiveAdminsIgnoresNonAdminsDisabledAndDeleted) {
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 0);
  AddPrincipal(store(), "root", /*is_admin=*/true);
  AddPrincipal(store(), "user");
  AddPrincipal(store(), "off", /*is_admin=*/true, /*disabled=*/true);
  Principal gone = AddPrincipal(store(), "gone", /*is_admin=*/true);
  Principal second = AddPrincipal(store(), "second", /*is_admin=*/true);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 3);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkPrincipalDeleted(gone.id, kT0); });
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 2);
  second.disabled = true;
  MustWrite(store(), [&](Tx& tx) { return tx.UpdatePrincipal(second); });
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 1);
  // The count a write transaction sees is the same.
  EXPECT_EQ(Change(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 1);
}

// Each write demotes one admin only when another active admin remains, as the service guards the
// last admin. However the writes interleave, across connections or servers, one admin is left.
// After counting, each write waits a moment for the others to have counted too, which is what
// would let them all go ahead; a store that orders the counts makes that wait run out instead.
TEST_P(StoreSuite, ConcurrentDemotionsThatEachKeepAnotherAdminLeaveExactlyOne) {
  constexpr int kAdmins = 5;
  constexpr auto kWindow = std::chrono::milliseconds(40);
  std::vector<Principal> admins;
  for (int i = 0; i < kAdmins; ++i) {
    admins.push_back(AddPrincipal(store(), "admin" + std::to_string(i), /*is_admin=*/true));
  }
  std::latch start(kAdmins);
  std::mutex mu;
  std::condition_variable cv;
  int counted = 0;  // guarded by mu
  std::vector<Status> results(kAdmins);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAdmins; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store().Write([&](Tx& tx) -> Status {
        VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipalById(admins[i].id));
        if (!p) return NotFound("gone");
        VOUCH_ASSIGN_OR_RETURN(int64_t active, tx.CountActiveAdmins());
        {
          std::unique_lock lock(mu);
          ++counted;
          cv.notify_all();
          cv.wait_for(lock, kWindow, [&] { return counted >= kAdmins; });
        }
        if (active < 2) return FailedPrecondition("the last admin stays");
        p->is_admin = false;
        return tx.UpdatePrincipal(*p);
      });
    });
  }
  for (auto& t : threads) t.join();
  int demoted = 0, refused = 0;
  for (const Status& s : results) {
    if (s.ok()) {
      ++demoted;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
      ++refused;
    }
  }
  EXPECT_EQ(demoted, kAdmins - 1);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountActiveAdmins(); }), 1);
}

// Two writes each read a principal whole, change one field and write the row back, as the service
// does; each waits a moment after reading for the other to have read too. Neither change is lost.
TEST_P(StoreSuite, ConcurrentEditsOfOnePrincipalsRowLoseNeitherChange) {
  constexpr auto kWindow = std::chrono::milliseconds(40);
  Principal target = AddPrincipal(store(), "target");
  std::latch start(2);
  std::mutex mu;
  std::condition_variable cv;
  int read = 0;  // guarded by mu
  auto edit = [&](const std::function<void(Principal&)>& change) {
    start.arrive_and_wait();
    return store().Write([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipal("target"));
      if (!p) return NotFound("gone");
      {
        std::unique_lock lock(mu);
        ++read;
        cv.notify_all();
        cv.wait_for(lock, kWindow, [&] { return read >= 2; });
      }
      change(*p);
      return tx.UpdatePrincipal(*p);
    });
  };
  Status disabled, renamed;
  std::thread a([&] { disabled = edit([](Principal& p) { p.disabled = true; }); });
  std::thread b([&] { renamed = edit([](Principal& p) { p.display_name = "Target"; }); });
  a.join();
  b.join();
  EXPECT_TRUE(disabled.ok()) << disabled.ToString();
  EXPECT_TRUE(renamed.ok()) << renamed.ToString();
  auto found = Query(store(), [&](Tx& tx) { return tx.FindPrincipalById(target.id); });
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->disabled);
  EXPECT_EQ(found->display_name, "Target");
}

// ---- Tokens ----------------------------------------------------------------------------------

TEST_P(StoreSuite, TokensAreListedNewestFirstForOnePrincipalOrAll) {
  Principal a = AddPrincipal(store(), "a");
  Principal b = AddPrincipal(store(), "b");
  AddToken(store(), a.id, "a-old", kT0);
  AddToken(store(), b.id, "b-mid", kT0 + 5);
  AddToken(store(), a.id, "a-new", kT0 + 10);
  AddToken(store(), a.id, "a-mid", kT0 + 5);
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.ListTokens(a.id); })),
            (std::vector<std::string>{"a-new", "a-mid", "a-old"}));
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.ListTokens(b.id); })),
            (std::vector<std::string>{"b-mid"}));
  // Equal creation times: the later token (higher id) first.
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListTokens(0); })),
            (std::vector<std::string>{"a-new", "a-mid", "b-mid", "a-old"}));
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.ListTokens(b.id + 100); }).empty());
}

TEST_P(StoreSuite, FindTokenByIdReturnsEveryFieldAndNothingForAnUnknownId) {
  Principal a = AddPrincipal(store(), "a");
  TokenRecord t{.principal_id = a.id,
                .name = "ci",
                .token_hash = std::string(64, 'e'),
                .scope = "read",
                .created_ms = kT0,
                .expires_ms = kT0 + 100};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertToken(t); });
  auto found = Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, t.id);
  EXPECT_EQ(found->principal_id, a.id);
  EXPECT_EQ(found->name, "ci");
  EXPECT_EQ(found->token_hash, std::string(64, 'e'));
  EXPECT_EQ(found->scope, "read");
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->expires_ms, std::optional<TimeMs>(kT0 + 100));
  EXPECT_FALSE(found->revoked_ms.has_value());
  EXPECT_FALSE(found->last_used_ms.has_value());
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id + 1); }));
}

TEST_P(StoreSuite, ATokenIsRevokedOnceAndASecondRevokeChangesNothing) {
  Principal a = AddPrincipal(store(), "a");
  TokenRecord t = AddToken(store(), a.id, "t", kT0);
  TokenRecord other = AddToken(store(), a.id, "other", kT0);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeToken(t.id, kT0 + 1); }), 1);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeToken(t.id, kT0 + 2); }), 0);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeToken(t.id + 100, kT0 + 2); }), 0);
  auto found = Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->revoked_ms, std::optional<TimeMs>(kT0 + 1));
  auto by_hash = Query(store(), [&](Tx& tx) { return tx.FindToken(t.token_hash); });
  ASSERT_TRUE(by_hash.has_value());
  EXPECT_EQ(by_hash->first.revoked_ms, std::optional<TimeMs>(kT0 + 1));
  auto untouched = Query(store(), [&](Tx& tx) { return tx.FindTokenById(other.id); });
  ASSERT_TRUE(untouched.has_value());
  EXPECT_FALSE(untouched->revoked_ms.has_value());
}

TEST_P(StoreSuite, RevokeTokensOfRevokesOnlyThatPrincipalsUnrevokedTokens) {
  Principal a = AddPrincipal(store(), "a");
  Principal b = AddPrincipal(store(), "b");
  TokenRecord a1 = AddToken(store(), a.id, "a1", kT0);
  TokenRecord a2 = AddToken(store(), a.id, "a2", kT0);
  TokenRecord a3 = AddToken(store(), a.id, "a3", kT0);
  TokenRecord b1 = AddToken(store(), b.id, "b1", kT0);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeToken(a1.id, kT0 + 1); }), 1);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeTokensOf(a.id, kT0 + 2); }), 2);
  EXPECT_EQ(Change(store(), [&](Tx& tx) { return tx.RevokeTokensOf(a.id, kT0 + 3); }), 0);
  auto revoked_at = [&](const TokenRecord& t) {
    auto found = Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id); });
    return found ? found->revoked_ms : std::nullopt;
  };
  EXPECT_EQ(revoked_at(a1), std::optional<TimeMs>(kT0 + 1));
  EXPECT_EQ(revoked_at(a2), std::optional<TimeMs>(kT0 + 2));
  EXPECT_EQ(revoked_at(a3), std::optional<TimeMs>(kT0 + 2));
  EXPECT_EQ(revoked_at(b1), std::nullopt);
}

TEST_P(StoreSuite, TouchTokenSetsLastUsedAndNeverMovesItBack) {
  Principal a = AddPrincipal(store(), "a");
  TokenRecord t = AddToken(store(), a.id, "t", kT0);
  TokenRecord other = AddToken(store(), a.id, "other", kT0);
  MustWrite(store(), [&](Tx& tx) { return tx.TouchToken(t.id, kT0 + 50); });
  MustWrite(store(), [&](Tx& tx) { return tx.TouchToken(t.id, kT0 + 20); });
  auto by_id = Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id); });
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->last_used_ms, std::optional<TimeMs>(kT0 + 50));
  auto by_hash = Query(store(), [&](Tx& tx) { return tx.FindToken(t.token_hash); });
  ASSERT_TRUE(by_hash.has_value());
  EXPECT_EQ(by_hash->first.last_used_ms, std::optional<TimeMs>(kT0 + 50));
  auto listed = Query(store(), [&](Tx& tx) { return tx.ListTokens(a.id); });
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& l : listed) {
    EXPECT_EQ(l.last_used_ms,
              l.id == t.id ? std::optional<TimeMs>(kT0 + 50) : std::optional<TimeMs>());
  }
  MustWrite(store(), [&](Tx& tx) { return tx.TouchToken(t.id, kT0 + 60); });
  by_id = Query(store(), [&](Tx& tx) { return tx.FindTokenById(t.id); });
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->last_used_ms, std::optional<TimeMs>(kT0 + 60));
  auto untouched = Query(store(), [&](Tx& tx) { return tx.FindTokenById(other.id); });
  ASSERT_TRUE(untouched.has_value());
  EXPECT_FALSE(untouched->last_used_ms.has_value());
}

// ---- Groups ----------------------------------------------------------------------------------

TEST_P(StoreSuite, GroupsAreInsertedFoundByNameAndListedBytewise) {
  Group risk = AddGroup(store(), "risk");
  Group ml = AddGroup(store(), "ML");
  Group ops = AddGroup(store(), "ops");
  EXPECT_GT(risk.id, 0);
  EXPECT_NE(risk.id, ml.id);
  EXPECT_NE(ml.id, ops.id);
  auto found = Query(store(), [](Tx& tx) { return tx.FindGroup("risk"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, risk.id);
  EXPECT_EQ(found->name, "risk");
  EXPECT_EQ(found->description, "a group");
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindGroup("Risk"); }));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListGroups(); })),
            (std::vector<std::string>{"ML", "ops", "risk"}));
}

TEST_P(StoreSuite, InsertingALiveGroupNameTwiceIsAlreadyExists) {
  AddGroup(store(), "risk");
  Group again{.name = "risk", .created_ms = kT0};
  Status st = store().Write([&](Tx& tx) { return tx.InsertGroup(again); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.ListGroups(); }).size(), 1u);
}

TEST_P(StoreSuite, DeletedGroupIsHiddenAndItsNameIsReusableWithANewId) {
  Group old = AddGroup(store(), "risk");
  MustWrite(store(), [&](Tx& tx) { return tx.MarkGroupDeleted(old.id, kT0 + 1); });
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindGroup("risk"); }));
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListGroups(); }).empty());
  Group reused = AddGroup(store(), "risk");
  EXPECT_GT(reused.id, old.id);
  auto found = Query(store(), [](Tx& tx) { return tx.FindGroup("risk"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, reused.id);
}

TEST_P(StoreSuite, AddingAMemberTwiceIsFalseAndRemovingIsTrueOnlyOnce) {
  Group g = AddGroup(store(), "risk");
  Principal p = AddPrincipal(store(), "alice");
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.AddGroupMember(g.id, p.id); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.AddGroupMember(g.id, p.id); }));
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.GroupMembers(g.id); })),
            (std::vector<std::string>{"alice"}));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RemoveGroupMember(g.id, p.id); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.RemoveGroupMember(g.id, p.id); }));
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.GroupMembers(g.id); }).empty());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.GroupsOf(p.id); }).empty());
}

TEST_P(StoreSuite, GroupMembersListsLiveMembersByNameWithEveryField) {
  Group g = AddGroup(store(), "risk");
  Group other = AddGroup(store(), "ops");
  Principal zed{.name = "zed", .disabled = true, .display_name = "Zed", .email = "z@example.com"};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertPrincipal(zed, kT0 + 3); });
  Principal bob = AddPrincipal(store(), "bob");
  Principal gone = AddPrincipal(store(), "carl");
  Principal outsider = AddPrincipal(store(), "amy");
  for (const Principal* p : {&zed, &bob, &gone}) AddMember(store(), g, *p);
  AddMember(store(), other, outsider);
  MustWrite(store(), [&](Tx& tx) { return tx.MarkPrincipalDeleted(gone.id, kT0); });

  auto members = Query(store(), [&](Tx& tx) { return tx.GroupMembers(g.id); });
  EXPECT_EQ(Names(members), (std::vector<std::string>{"bob", "zed"}));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1].id, zed.id);
  EXPECT_EQ(members[1].display_name, "Zed");
  EXPECT_EQ(members[1].email, "z@example.com");
  EXPECT_EQ(members[1].created_ms, kT0 + 3);
  EXPECT_TRUE(members[1].disabled);
  EXPECT_FALSE(members[1].is_admin);
}

TEST_P(StoreSuite, GroupsOfListsLiveGroupsByNameAndSkipsDeletedOnes) {
  Group risk = AddGroup(store(), "risk");
  Group ml = AddGroup(store(), "ml");
  Group old = AddGroup(store(), "legacy");
  AddGroup(store(), "audit");
  Principal p = AddPrincipal(store(), "alice");
  for (const Group* g : {&risk, &ml, &old}) AddMember(store(), *g, p);
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.GroupsOf(p.id); })),
            (std::vector<std::string>{"legacy", "ml", "risk"}));
  MustWrite(store(), [&](Tx& tx) { return tx.MarkGroupDeleted(old.id, kT0); });
  auto groups = Query(store(), [&](Tx& tx) { return tx.GroupsOf(p.id); });
  EXPECT_EQ(Names(groups), (std::vector<std::string>{"ml", "risk"}));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].id, ml.id);
  EXPECT_EQ(groups[0].description, "a group");
  EXPECT_EQ(groups[0].created_ms, kT0);
}

// ---- Roles -----------------------------------------------------------------------------------

TEST_P(StoreSuite, GrantingARoleTwiceIsFalseAndRevokingIsTrueOnlyOnce) {
  Principal p = AddPrincipal(store(), "alice");
  RoleGrant grant{.role = "auditor", .grantee = Of(p)};
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.GrantRole(grant); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.GrantRole(grant); }));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }),
            (std::vector<std::string>{"auditor"}));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RevokeRole(grant); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.RevokeRole(grant); }));
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }).empty());
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListRoleGrants(); }).empty());
}

TEST_P(StoreSuite, ListRoleGrantsListsEveryGrantByRoleThenPrincipalsBeforeGroups) {
  Principal a = AddPrincipal(store(), "a");
  Principal b = AddPrincipal(store(), "b");
  Group g = AddGroup(store(), "risk");
  Grant(store(), "ml-engineer", Of(g));
  Grant(store(), "ml-engineer", Of(b));
  Grant(store(), "auditor", Of(a));
  Grant(store(), "ml-engineer", Of(a));
  using Rows3 = std::vector<std::tuple<std::string, int64_t, int64_t>>;
  EXPECT_EQ(Rows(Query(store(), [](Tx& tx) { return tx.ListRoleGrants(); })),
            (Rows3{{"auditor", a.id, 0},
                   {"ml-engineer", a.id, 0},
                   {"ml-engineer", b.id, 0},
                   {"ml-engineer", 0, g.id}}));
}

TEST_P(StoreSuite, EffectiveRolesComeDirectlyOrThroughLiveGroupsSortedAndUnique) {
  Principal p = AddPrincipal(store(), "alice");
  Principal other = AddPrincipal(store(), "bob");
  Group reviewers = AddGroup(store(), "reviewers");
  Group legacy = AddGroup(store(), "legacy");
  Group not_mine = AddGroup(store(), "owners");
  AddMember(store(), reviewers, p);
  AddMember(store(), legacy, p);
  AddMember(store(), not_mine, other);
  Grant(store(), "ml-engineer", Of(p));
  Grant(store(), "ml-engineer", Of(reviewers));
  Grant(store(), "data-scientist", Of(reviewers));
  Grant(store(), "auditor", Of(legacy));
  Grant(store(), "business-owner", Of(not_mine));
  Grant(store(), "admin", Of(other));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }),
            (std::vector<std::string>{"auditor", "data-scientist", "ml-engineer"}));

  MustWrite(store(), [&](Tx& tx) { return tx.MarkGroupDeleted(legacy.id, kT0); });
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }),
            (std::vector<std::string>{"data-scientist", "ml-engineer"}));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RemoveGroupMember(reviewers.id, p.id); }));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }),
            (std::vector<std::string>{"ml-engineer"}));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(other.id); }),
            (std::vector<std::string>{"admin", "business-owner"}));
}

// ---- Model permissions -----------------------------------------------------------------------

TEST_P(StoreSuite, ModelPermissionsAreSetReplacedListedAndDeleted) {
  Model m = AddModel(store(), "fraud");
  Model other = AddModel(store(), "churn");
  Principal p = AddPrincipal(store(), "alice");
  Group g = AddGroup(store(), "risk");
  SetPermission(store(), m, Of(g), Permission::kRead);
  SetPermission(store(), m, Of(p), Permission::kEdit);
  SetPermission(store(), other, Of(p), Permission::kManage);
  EXPECT_EQ(
      Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(m.id); })),
      (std::vector<Row>{{m.id, p.id, 0, Permission::kEdit}, {m.id, 0, g.id, Permission::kRead}}));

  SetPermission(store(), m, Of(p), Permission::kNone);
  EXPECT_EQ(
      Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(m.id); })),
      (std::vector<Row>{{m.id, p.id, 0, Permission::kNone}, {m.id, 0, g.id, Permission::kRead}}));

  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.DeleteModelPermission(m.id, Of(g)); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.DeleteModelPermission(m.id, Of(g)); }));
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(m.id); })),
            (std::vector<Row>{{m.id, p.id, 0, Permission::kNone}}));
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(other.id); })),
            (std::vector<Row>{{other.id, p.id, 0, Permission::kManage}}));
}

TEST_P(StoreSuite, EveryPermissionLevelRoundTrips) {
  Principal p = AddPrincipal(store(), "alice");
  std::vector<Row> expected;
  for (Permission level : {Permission::kNone, Permission::kRead, Permission::kUse,
                           Permission::kEdit, Permission::kManage}) {
    Model m = AddModel(store(), "model-" + std::string(PermissionName(level)));
    SetPermission(store(), m, Of(p), level);
    expected.emplace_back(m.id, p.id, 0, level);
  }
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.PermissionsFor(p.id); })), expected);
}

TEST_P(StoreSuite, PermissionsForIncludesLiveGroupsGrantsAndSkipsDeletedModelsAndGroups) {
  Model fraud = AddModel(store(), "fraud");
  Model churn = AddModel(store(), "churn");
  Model retired = AddModel(store(), "retired");
  Model unrelated = AddModel(store(), "unrelated");
  Principal p = AddPrincipal(store(), "alice");
  Principal other = AddPrincipal(store(), "bob");
  Group risk = AddGroup(store(), "risk");
  Group legacy = AddGroup(store(), "legacy");
  Group not_mine = AddGroup(store(), "owners");
  AddMember(store(), risk, p);
  AddMember(store(), legacy, p);
  AddMember(store(), not_mine, other);
  SetPermission(store(), fraud, Of(p), Permission::kRead);
  SetPermission(store(), fraud, Of(risk), Permission::kEdit);
  SetPermission(store(), churn, Of(legacy), Permission::kManage);
  SetPermission(store(), retired, Of(p), Permission::kManage);
  SetPermission(store(), unrelated, Of(other), Permission::kManage);
  SetPermission(store(), unrelated, Of(not_mine), Permission::kManage);

  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.PermissionsFor(p.id); })),
            (std::vector<Row>{{fraud.id, p.id, 0, Permission::kRead},
                              {fraud.id, 0, risk.id, Permission::kEdit},
                              {churn.id, 0, legacy.id, Permission::kManage},
                              {retired.id, p.id, 0, Permission::kManage}}));

  MustWrite(store(), [&](Tx& tx) -> Status {
    VOUCH_TRY(tx.MarkModelDeleted(retired.id, kT0));
    return tx.MarkGroupDeleted(legacy.id, kT0);
  });
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.PermissionsFor(p.id); })),
            (std::vector<Row>{{fraud.id, p.id, 0, Permission::kRead},
                              {fraud.id, 0, risk.id, Permission::kEdit}}));
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.PermissionsFor(other.id); })),
            (std::vector<Row>{{unrelated.id, other.id, 0, Permission::kManage},
                              {unrelated.id, 0, not_mine.id, Permission::kManage}}));
}

TEST_P(StoreSuite, ModelPermissionsForCoversOneLiveModelWithTheLiveGroupsGrants) {
  Model fraud = AddModel(store(), "fraud");
  Model churn = AddModel(store(), "churn");
  Principal p = AddPrincipal(store(), "alice");
  Principal other = AddPrincipal(store(), "bob");
  Group risk = AddGroup(store(), "risk");
  Group legacy = AddGroup(store(), "legacy");
  AddMember(store(), risk, p);
  AddMember(store(), legacy, p);
  SetPermission(store(), fraud, Of(p), Permission::kRead);
  SetPermission(store(), fraud, Of(risk), Permission::kEdit);
  SetPermission(store(), fraud, Of(legacy), Permission::kManage);
  SetPermission(store(), fraud, Of(other), Permission::kManage);
  SetPermission(store(), churn, Of(p), Permission::kUse);

  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissionsFor(fraud.id, p.id); })),
            (std::vector<Row>{{fraud.id, p.id, 0, Permission::kRead},
                              {fraud.id, 0, risk.id, Permission::kEdit},
                              {fraud.id, 0, legacy.id, Permission::kManage}}));
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissionsFor(churn.id, p.id); })),
            (std::vector<Row>{{churn.id, p.id, 0, Permission::kUse}}));

  MustWrite(store(), [&](Tx& tx) { return tx.MarkGroupDeleted(legacy.id, kT0); });
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissionsFor(fraud.id, p.id); })),
            (std::vector<Row>{{fraud.id, p.id, 0, Permission::kRead},
                              {fraud.id, 0, risk.id, Permission::kEdit}}));
  MustWrite(store(), [&](Tx& tx) { return tx.MarkModelDeleted(churn.id, kT0); });
  EXPECT_TRUE(
      Query(store(), [&](Tx& tx) { return tx.ModelPermissionsFor(churn.id, p.id); }).empty());
  EXPECT_TRUE(
      Query(store(), [&](Tx& tx) { return tx.ModelPermissionsFor(fraud.id + 100, p.id); }).empty());
}

TEST_P(StoreSuite, DeleteGrantsOfAPrincipalRemovesItsRolesPermissionsAndMembershipsOnly) {
  Model m = AddModel(store(), "fraud");
  Principal p = AddPrincipal(store(), "alice");
  Principal other = AddPrincipal(store(), "bob");
  Group g = AddGroup(store(), "risk");
  AddMember(store(), g, p);
  AddMember(store(), g, other);
  Grant(store(), "auditor", Of(p));
  Grant(store(), "auditor", Of(other));
  Grant(store(), "ml-engineer", Of(g));
  SetPermission(store(), m, Of(p), Permission::kManage);
  SetPermission(store(), m, Of(other), Permission::kRead);
  SetPermission(store(), m, Of(g), Permission::kEdit);

  MustWrite(store(), [&](Tx& tx) { return tx.DeleteGrantsOf(Of(p)); });
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }).empty());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.PermissionsFor(p.id); }).empty());
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.GroupsOf(p.id); }).empty());
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.GroupMembers(g.id); })),
            (std::vector<std::string>{"bob"}));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(other.id); }),
            (std::vector<std::string>{"auditor", "ml-engineer"}));
  EXPECT_EQ(Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(m.id); })),
            (std::vector<Row>{{m.id, other.id, 0, Permission::kRead},
                              {m.id, 0, g.id, Permission::kEdit}}));
}

TEST_P(StoreSuite, DeleteGrantsOfAGroupRemovesItsRolesPermissionsAndMembersOnly) {
  Model m = AddModel(store(), "fraud");
  Principal p = AddPrincipal(store(), "alice");
  Group g = AddGroup(store(), "risk");
  Group kept = AddGroup(store(), "ops");
  AddMember(store(), g, p);
  AddMember(store(), kept, p);
  Grant(store(), "ml-engineer", Of(g));
  Grant(store(), "auditor", Of(kept));
  Grant(store(), "data-scientist", Of(p));
  SetPermission(store(), m, Of(g), Permission::kEdit);
  SetPermission(store(), m, Of(kept), Permission::kRead);
  SetPermission(store(), m, Of(p), Permission::kUse);

  MustWrite(store(), [&](Tx& tx) -> Status {
    VOUCH_TRY(tx.MarkGroupDeleted(g.id, kT0));
    return tx.DeleteGrantsOf(Of(g));
  });
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.GroupMembers(g.id); }).empty());
  EXPECT_EQ(Names(Query(store(), [&](Tx& tx) { return tx.GroupsOf(p.id); })),
            (std::vector<std::string>{"ops"}));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.EffectiveRoles(p.id); }),
            (std::vector<std::string>{"auditor", "data-scientist"}));
  using Rows3 = std::vector<std::tuple<std::string, int64_t, int64_t>>;
  EXPECT_EQ(Rows(Query(store(), [](Tx& tx) { return tx.ListRoleGrants(); })),
            (Rows3{{"auditor", 0, kept.id}, {"data-scientist", p.id, 0}}));
  EXPECT_EQ(
      Rows(Query(store(), [&](Tx& tx) { return tx.ModelPermissions(m.id); })),
      (std::vector<Row>{{m.id, p.id, 0, Permission::kUse}, {m.id, 0, kept.id, Permission::kRead}}));
}

// ---- Web sessions ----------------------------------------------------------------------------

TEST_P(StoreSuite, SessionsAreInsertedFoundByIdHashAndRevokedOnce) {
  Principal p = AddPrincipal(store(), "alice");
  WebSession s{.id_hash = std::string(64, '1'),
               .principal_id = p.id,
               .csrf_hash = std::string(64, '2'),
               .created_ms = kT0,
               .expires_ms = kT0 + 3'600'000,
               .last_seen_ms = kT0 + 1,
               .address = "203.0.113.7",
               .user_agent = "Mozilla/5.0 (X11; Linux x86_64) ☃"};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertSession(s); });
  auto found = Query(store(), [&](Tx& tx) { return tx.FindSession(s.id_hash); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id_hash, s.id_hash);
  EXPECT_EQ(found->principal_id, p.id);
  EXPECT_EQ(found->csrf_hash, s.csrf_hash);
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->expires_ms, kT0 + 3'600'000);
  EXPECT_EQ(found->last_seen_ms, kT0 + 1);
  EXPECT_FALSE(found->revoked_ms.has_value());
  EXPECT_EQ(found->address, "203.0.113.7");
  EXPECT_EQ(found->user_agent, "Mozilla/5.0 (X11; Linux x86_64) ☃");
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindSession(std::string(64, '3')); }));

  MustWrite(store(), [&](Tx& tx) { return tx.RevokeSession(s.id_hash, kT0 + 10); });
  MustWrite(store(), [&](Tx& tx) { return tx.RevokeSession(s.id_hash, kT0 + 20); });
  found = Query(store(), [&](Tx& tx) { return tx.FindSession(s.id_hash); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->revoked_ms, std::optional<TimeMs>(kT0 + 10));
}

TEST_P(StoreSuite, InsertingASessionIdHashTwiceIsAlreadyExists) {
  Principal p = AddPrincipal(store(), "alice");
  WebSession s{.id_hash = std::string(64, '1'),
               .principal_id = p.id,
               .csrf_hash = std::string(64, '2'),
               .created_ms = kT0,
               .expires_ms = kT0 + 1000,
               .last_seen_ms = kT0};
  MustWrite(store(), [&](Tx& tx) { return tx.InsertSession(s); });
  WebSession again = s;
  again.csrf_hash = std::string(64, '9');
  Status st = store().Write([&](Tx& tx) { return tx.InsertSession(again); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  auto found = Query(store(), [&](Tx& tx) { return tx.FindSession(s.id_hash); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->csrf_hash, std::string(64, '2'));
}

}  // namespace
}  // namespace vouch::store::testing
