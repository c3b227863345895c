// Verification of the stored audit log: a good log verifies with its count and digest; a gap, a
// body that is damaged, not canonical, or carrying another sequence number is DATA_LOSS naming
// the first bad event. The log check a copy runs (VerifiedLogSummary) reports the latest
// checkpoint, and refuses one that is not the stored tree's or does not open with its key. Damage
// is done with raw SQL on the closed file, after dropping the append-only triggers that otherwise
// refuse it.
#include "vouch/audit/verify.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::audit {
namespace {

using store::testing::TempSqliteStore;

constexpr TimeMs kT0 = 1'700'000'000'000;

// Appends `n` events, in one transaction, whose bodies are {"action":…,"actor":"alice","seq":N}.
void AppendEvents(store::Store& s, int n) {
  Status st = s.Write([&](store::Tx& tx) -> Status {
    for (int i = 0; i < n; ++i) {
      AuditEvent e;
      e.time_ms = kT0;
      e.actor_name = "alice";
      e.action = fmt::format("model.created.{}", i);
      VOUCH_TRY(tx.AppendAuditEvent(e, [&](int64_t seq) -> Result<std::string> {
        return CanonicalJson(json::object{{"seq", seq}, {"action", e.action}, {"actor", "alice"}});
      }));
    }
    return OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::vector<std::string> Bodies(store::Store& s) {
  std::vector<std::string> out;
  Status st = s.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1'000'000}));
    for (auto& e : events) out.push_back(e.body);
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Appends each of `bodies` as it is, with "SEQ" replaced by the event's sequence number: bytes
// written by another writer (an older vouch, a forger).
void AppendRawBodies(store::Store& s, const std::vector<std::string>& bodies) {
  Status st = s.Write([&](store::Tx& tx) -> Status {
    for (const std::string& body : bodies) {
      AuditEvent e;
      e.time_ms = kT0;
      e.action = "model_version.created";
      VOUCH_TRY(tx.AppendAuditEvent(e, [&](int64_t seq) -> Result<std::string> {
        std::string out = body;
        out.replace(out.find("SEQ"), 3, std::to_string(seq));
        return out;
      }));
    }
    return OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// Runs SQL on the store's closed file, with the append-only triggers dropped first. The directory
// is marked DAMAGED, as every test that damages a data directory on purpose marks it (the
// black-box suites verify every directory they leave but those).
void Tamper(TempSqliteStore& db, const std::string& sql) {
  db.Close();
  std::ofstream(std::filesystem::path(db.path()).parent_path() / "DAMAGED") << "tampered\n";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.path().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  const std::string all =
      "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS "
      "audit_events_no_delete; " +
      sql;
  char* err = nullptr;
  const int rc = sqlite3_exec(raw, all.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close_v2(raw);
  db.Reopen();
}

std::string SqlQuote(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') out += '\'';
    out += ch;
  }
  return out + "'";
}

void ExpectDataLossAt(store::Store& s, int64_t seq, std::string_view why) {
  auto verified = Verify(s);
  ASSERT_FALSE(verified.ok()) << "verified as " << verified->count << " events";
  EXPECT_EQ(verified.status().code(), StatusCode::kDataLoss) << verified.status().ToString();
  EXPECT_NE(verified.status().message().find(fmt::format("audit event {}:", seq)),
            std::string::npos)
      << verified.status().message();
  EXPECT_NE(verified.status().message().find(why), std::string::npos)
      << verified.status().message();
}

TEST(LogDigest, IsTheHashChainOverTheBodiesFromThirtyTwoZeroBytes) {
  LogDigest empty;
  EXPECT_EQ(empty.Hex(), std::string(64, '0'));
  LogDigest d;
  d.Add("a");
  d.Add("b");
  const std::string h1 = Sha256Raw(std::string(32, '\0') + Sha256Raw("a"));
  EXPECT_EQ(d.Hex(), HexEncode(Sha256Raw(h1 + Sha256Raw("b"))));
}

TEST(Verify, AGoodLogVerifiesWithItsCountAndDigest) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 2'345);  // more than two pages
  auto verified = Verify(db.store());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->count, 2'345);
  // The Merkle root (issue 14), and the hash chain of earlier versions beside it.
  LogDigest want;
  tlog::RightEdge tree;
  for (const std::string& body : Bodies(db.store())) {
    want.Add(body);
    tree.Append(tlog::LeafHash(body));
  }
  EXPECT_EQ(verified->head_digest, HexEncode(tlog::HashBytes(tree.Root())));
  EXPECT_EQ(verified->chain_digest, want.Hex());
}

TEST(Verify, AnEmptyLogVerifiesAsNoEventsWithTheEmptyTreeRoot) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  auto verified = Verify(db.store());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->count, 0);
  EXPECT_EQ(verified->head_digest, HexEncode(tlog::HashBytes(tlog::EmptyTreeHash())));
  EXPECT_EQ(verified->chain_digest, std::string(64, '0'));
}

TEST(Verify, AGapIsDataLossNamingTheMissingEvent) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 5);
  Tamper(db, "DELETE FROM audit_events WHERE seq = 3");
  ExpectDataLossAt(db.store(), 3, "missing");
}

TEST(Verify, AMissingFirstEventIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 2);
  Tamper(db, "DELETE FROM audit_events WHERE seq = 1");
  ExpectDataLossAt(db.store(), 1, "missing");
}

TEST(Verify, ADamagedBodyIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 4);
  // Bytes cut from the middle of event 2's body.
  Tamper(db,
         "UPDATE audit_events SET body = substr(body, 1, 10) || substr(body, 14) WHERE seq = 2");
  ExpectDataLossAt(db.store(), 2, "not JSON");
}

TEST(Verify, ABodyRewrittenConsistentlyIsCaughtByTheStoredTreeAndChangesTheRoot) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 3);
  auto before = Verify(db.store());
  ASSERT_TRUE(before.ok());
  // Still canonical, still seq 2: the stored tree (issue 14) no longer matches its bytes.
  Tamper(db, "UPDATE audit_events SET body = replace(body, 'alice', 'mallory') WHERE seq = 2");
  auto after = Verify(db.store());
  EXPECT_EQ(after.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(after.status().message(),
            "the stored audit tree hash at level 0, index 1 (events 2..2) differs from the hash "
            "of the stored events");
  auto inspected = Inspect(db.store());
  ASSERT_TRUE(inspected.ok()) << inspected.status().ToString();
  EXPECT_EQ(inspected->count, before->count);
  EXPECT_NE(inspected->head_digest, before->head_digest);
}

TEST(Verify, ABodyNotInCanonicalFormIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 3);
  // The same JSON value, keys out of order.
  Tamper(db, "UPDATE audit_events SET body = " +
                 SqlQuote(R"({"seq":2,"actor":"alice","action":"model.created.1"})") +
                 " WHERE seq = 2");
  ExpectDataLossAt(db.store(), 2, "canonical");
}

TEST(Verify, ABodyWithWhitespaceIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 1);
  Tamper(db, "UPDATE audit_events SET body = body || ' ' WHERE seq = 1");
  ExpectDataLossAt(db.store(), 1, "canonical");
}

TEST(Verify, ABodyCarryingAnotherSequenceNumberIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 3);
  Tamper(db, "UPDATE audit_events SET body = " +
                 SqlQuote(R"({"action":"model.created.1","actor":"alice","seq":3})") +
                 " WHERE seq = 2");
  ExpectDataLossAt(db.store(), 2, "says seq 3");
}

TEST(Verify, ABodyWithoutASequenceNumberIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 2);
  Tamper(db, "UPDATE audit_events SET body = " + SqlQuote(R"({"seq":"2"})") + " WHERE seq = 2");
  ExpectDataLossAt(db.store(), 2, "no integer \"seq\"");
}

// Bodies as the writer stored them before issue 9's fix, byte for byte (taken from a server; the
// writer's number form did not change): a version created with the metric 2^60, and a metric set
// to -42440401286533260, through the native API. The writer put each double in ECMAScript's form;
// the verifier of the time read that text back as an integer and refused it ("integer beyond 2^53
// cannot be represented canonically"), and with it every backup. They are canonical under RFC
// 8785's reading (every number a double), and verify unchanged.
const std::vector<std::string>& OldWritersBodies() {
  static const auto* bodies = new std::vector<std::string>{
      R"({"action":"model.created","actor":{"auth":"token","id":1,"name":"admin"},"after":{"description":"","name":"probe-12e72f9d1e","tags":{}},"before":null,"comment":"","outcome":"done","request_id":"cd644737f72897d2034ab070","schema":1,"seq":SEQ,"source":{"address":"127.0.0.1","door":"native","user_agent":"python-requests/2.32.3"},"target":{"model":"probe-12e72f9d1e","type":"model"},"time":"2026-12-06T04:35:56.544Z","time_ms":1796531756544})",
      R"({"action":"model_version.created","actor":{"auth":"token","id":1,"name":"admin"},"after":{"artifact_digest":"","description":"","metrics":{"a":1152921504606847000},"params":{},"run_id":"","source":"s3://b/m","stage":"None","status":"READY","tags":{}},"before":null,"comment":"","outcome":"done","request_id":"7e1b5b12d4e17040b2d6b8ee","schema":1,"seq":SEQ,"source":{"address":"127.0.0.1","door":"native","user_agent":"python-requests/2.32.3"},"target":{"model":"probe-12e72f9d1e","type":"model_version","version":1},"time":"2026-12-06T04:35:56.563Z","time_ms":1796531756563})",
      R"({"action":"model_version.metric_set","actor":{"auth":"token","id":1,"name":"admin"},"after":{"key":"x","value":-42440401286533260},"before":null,"comment":"","outcome":"done","request_id":"3212414712cf472f9cbf4f48","schema":1,"seq":SEQ,"source":{"address":"127.0.0.1","door":"native","user_agent":"python-requests/2.32.3"},"target":{"model":"probe-12e72f9d1e","type":"model_version","version":1},"time":"2026-12-06T04:35:56.570Z","time_ms":1796531756570})",
  };
  return *bodies;
}

TEST(Verify, AStoreHoldingTheOldWritersLargeDoublesVerifiesUnchanged) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendRawBodies(db.store(), OldWritersBodies());
  auto verified = Verify(db.store());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->count, static_cast<int64_t>(OldWritersBodies().size()));
  const std::vector<std::string> stored = Bodies(db.store());
  ASSERT_EQ(stored.size(), OldWritersBodies().size());
  LogDigest want;
  tlog::RightEdge tree;
  for (const std::string& body : stored) {
    want.Add(body);
    tree.Append(tlog::LeafHash(body));
  }
  EXPECT_EQ(verified->head_digest, HexEncode(tlog::HashBytes(tree.Root())));
  EXPECT_EQ(verified->chain_digest, want.Hex());
  EXPECT_NE(stored[1].find("1152921504606847000"), std::string::npos) << stored[1];
}

// Only the canonical text of a number verifies: the exact digits of 2^60 are the same double, but
// not its canonical form, so a body rewritten that way is refused.
TEST(Verify, ALargeNumberInAnotherFormIsNotCanonical) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendRawBodies(db.store(), {R"({"m":1152921504606847000,"seq":SEQ})",
                               R"({"m":1152921504606846976,"seq":SEQ})"});
  ExpectDataLossAt(db.store(), 2, "not in canonical (RFC 8785) form");
}

// Schema 2 (issue 12) added a gated move's `gate`; a log holds both schemas for ever.
TEST(Verify, EventsOfSchemaOneAndTwoVerifyTogether) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendRawBodies(db.store(), OldWritersBodies());
  AppendRawBodies(
      db.store(),
      {R"({"action":"model_version.stage_changed","gate":{"fingerprint":"ab","policy":"p","policy_version":1,"request":7,"via":"request"},"schema":2,"seq":SEQ})"});
  auto verified = Verify(db.store());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->count, 4);
}

TEST(Verify, ASchemaThisBinaryDoesNotKnowIsDataLoss) {
  for (const char* schema : {"3", "0", "\"2\"", "2.5", "null"}) {
    TempSqliteStore db;
    ASSERT_TRUE(db.is_open());
    AppendRawBodies(db.store(), {R"({"schema":2,"seq":SEQ})",
                                 fmt::format(R"({{"schema":{},"seq":SEQ}})", schema)});
    ExpectDataLossAt(db.store(), 2, "which this vouch does not know");
  }
}

TEST(Inspect, AGoodLogIsWhatVerifySays) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 1'234);
  auto verified = Verify(db.store());
  auto inspected = Inspect(db.store());
  ASSERT_TRUE(verified.ok() && inspected.ok());
  EXPECT_TRUE(inspected->problem.ok()) << inspected->problem.ToString();
  EXPECT_EQ(inspected->count, verified->count);
  EXPECT_EQ(inspected->head_digest, verified->head_digest);
}

// What `vouch backup --unverified` reports of a log that does not verify: the first problem, as
// Verify names it, and a count and digest over every stored event, past the bad one.
TEST(Inspect, ALogThatDoesNotVerifyIsStillCountedAndDigestedToTheEnd) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 1'500);
  Tamper(db, "UPDATE audit_events SET body = body || ' ' WHERE seq = 700");
  auto inspected = Inspect(db.store());
  ASSERT_TRUE(inspected.ok()) << inspected.status().ToString();
  EXPECT_EQ(inspected->problem.code(), StatusCode::kDataLoss);
  EXPECT_NE(inspected->problem.message().find("audit event 700: "), std::string::npos)
      << inspected->problem.message();
  EXPECT_EQ(inspected->problem.message(), Verify(db.store()).status().message());
  EXPECT_EQ(inspected->count, 1'500);
  LogDigest want;
  tlog::RightEdge tree;
  for (const std::string& body : Bodies(db.store())) {
    want.Add(body);
    tree.Append(tlog::LeafHash(body));
  }
  EXPECT_EQ(inspected->head_digest, HexEncode(tlog::HashBytes(tree.Root())));
  EXPECT_EQ(inspected->chain_digest, want.Hex());
}

// ---- The log check a copy runs on both sides (VerifiedLogSummary): the latest checkpoint too.

constexpr char kOrigin[] = "registry.example/api/v1/audit/log";
constexpr char kWitnessLine[] = "\xe2\x80\x94 witness.example/w AQIDBAUG";  // an unknown key's

tlog::Hash RootOfFirst(store::Store& s, size_t size) {
  const std::vector<std::string> bodies = Bodies(s);
  tlog::RightEdge tree;
  for (size_t i = 0; i < size && i < bodies.size(); ++i) tree.Append(tlog::LeafHash(bodies[i]));
  return tree.Root();
}

std::string Base64Root(const tlog::Hash& root) { return Base64Encode(tlog::HashBytes(root)); }

// Stores a checkpoint of size `size` signing `root`, by `signer` (its key row made the first time),
// with a witness's cosignature line, as the checkpoint service and the witness service store them.
// Returns the note as the server serves it: the signed note, then the cosignature.
std::string StoreCheckpoint(store::Store& s, const tlog::Signer& signer, int64_t size,
                            const tlog::Hash& root) {
  const std::string note =
      tlog::SignCheckpoint({kOrigin, static_cast<uint64_t>(size), root, {}}, std::span(&signer, 1))
          .value();
  const tlog::Verifier verifier = tlog::VerifierOf(signer);
  const std::string verifier_key = tlog::FormatVerifierKey(verifier);
  Status st = s.Write([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditSigningKey> keys, tx.ListAuditSigningKeys());
    int64_t key = 0;
    for (const store::AuditSigningKey& k : keys) {
      if (k.verifier_key == verifier_key) key = k.id;
    }
    if (key == 0) {
      store::AuditSigningKey k{.name = kOrigin,
                               .key_id = fmt::format("{:08x}", verifier.key_id),
                               .verifier_key = verifier_key,
                               .public_key = Base64Encode(verifier.public_key),
                               .seed_nonce = "bm9uY2U",
                               .seed_sealed = "c2VhbGVk",
                               .created_ms = kT0};
      VOUCH_TRY(tx.InsertAuditSigningKey(k));
      key = k.id;
    }
    store::AuditCheckpointRow row{
        .size = size, .root = Base64Root(root), .note = note, .key_id = key, .created_ms = kT0};
    VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertAuditCheckpoint(row));
    if (!inserted) return Internal(fmt::format("a checkpoint of size {} exists", size));
    return tx
        .InsertAuditCosignature({row.id, "witness.example/w", "01020304", kWitnessLine, kT0 + size})
        .status();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return note + kWitnessLine + "\n";
}

Result<store::LogSummary> Summary(store::Store& s) {
  store::LogSummary out;
  VOUCH_TRY(s.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, VerifiedLogSummary(tx));
    return OkStatus();
  }));
  return out;
}

void ExpectCheckpointRefused(store::Store& s, std::string_view why) {
  auto summary = Summary(s);
  ASSERT_FALSE(summary.ok()) << "the log check passed";
  EXPECT_EQ(summary.status().code(), StatusCode::kDataLoss) << summary.status().ToString();
  EXPECT_NE(summary.status().message().find("the latest checkpoint (size 555) "), std::string::npos)
      << summary.status().message();
  EXPECT_NE(summary.status().message().find(why), std::string::npos) << summary.status().message();
}

TEST(VerifiedLogSummary, ALogWithNoCheckpointYetHasNone) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 3);
  auto summary = Summary(db.store());
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->events, 3);
  EXPECT_EQ(summary->digest, HexEncode(tlog::HashBytes(RootOfFirst(db.store(), 3))));
  EXPECT_EQ(summary->checkpoint, std::nullopt);
}

// The latest checkpoint is older than the log's end (555 of 600 events): its root is compared with
// the tree of the first 555 events, computed from the stored hashes (two full level-8 tiles' worth
// and a partial one), not with the current root.
TEST(VerifiedLogSummary, TheLatestCheckpointIsReportedAsServedWithItsCosignature) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 600);
  const tlog::Signer signer = tlog::GenerateSigner(kOrigin).value();
  StoreCheckpoint(db.store(), signer, 300, RootOfFirst(db.store(), 300));
  const std::string served = StoreCheckpoint(db.store(), signer, 555, RootOfFirst(db.store(), 555));
  auto summary = Summary(db.store());
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->events, 600);
  ASSERT_TRUE(summary->checkpoint.has_value());
  EXPECT_EQ(summary->checkpoint->size, 555);
  EXPECT_EQ(summary->checkpoint->root, Base64Root(RootOfFirst(db.store(), 555)));
  EXPECT_EQ(summary->checkpoint->note, served);
  EXPECT_NE(summary->checkpoint->note.find(kWitnessLine), std::string::npos);
}

// Signed by the log's own key (a forger holding it, or a bug), but not the root of the events.
TEST(VerifiedLogSummary, ACheckpointSigningAnotherRootThanTheTreesIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 600);
  const tlog::Signer signer = tlog::GenerateSigner(kOrigin).value();
  StoreCheckpoint(db.store(), signer, 555, RootOfFirst(db.store(), 554));
  ExpectCheckpointRefused(db.store(), "but the tree of the log's first 555 events has root " +
                                          Base64Root(RootOfFirst(db.store(), 555)));
}

// The row's root and the note's root line changed together, the signature left as it was.
TEST(VerifiedLogSummary, ACheckpointEditedUnderItsSignatureIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 600);
  const tlog::Signer signer = tlog::GenerateSigner(kOrigin).value();
  const std::string right = Base64Root(RootOfFirst(db.store(), 555));
  const std::string wrong = Base64Root(RootOfFirst(db.store(), 554));
  StoreCheckpoint(db.store(), signer, 555, RootOfFirst(db.store(), 555));
  Tamper(db, fmt::format("DROP TRIGGER audit_checkpoints_no_update; UPDATE audit_checkpoints SET "
                         "root = {}, note = replace(note, {}, {}) WHERE size = 555",
                         SqlQuote(wrong), SqlQuote(right), SqlQuote(wrong)));
  ExpectCheckpointRefused(db.store(), "does not open with the key that signed it");
}

TEST(VerifiedLogSummary, ACheckpointRowSayingAnotherRootThanItsNoteIsDataLoss) {
  TempSqliteStore db;
  ASSERT_TRUE(db.is_open());
  AppendEvents(db.store(), 600);
  const tlog::Signer signer = tlog::GenerateSigner(kOrigin).value();
  StoreCheckpoint(db.store(), signer, 555, RootOfFirst(db.store(), 555));
  Tamper(db, fmt::format("DROP TRIGGER audit_checkpoints_no_update; UPDATE audit_checkpoints SET "
                         "root = {} WHERE size = 555",
                         SqlQuote(Base64Root(RootOfFirst(db.store(), 554)))));
  ExpectCheckpointRefused(db.store(), "but its row says size 555 and root");
}

}  // namespace
}  // namespace vouch::audit
