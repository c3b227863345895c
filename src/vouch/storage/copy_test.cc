// Copying a SQLite registry into PostgreSQL: every table row for row (one the copy has never heard
// of too), parents before children, ids and the audit sequence continuing after the copy, and
// refusals that leave the target as it was: a non-empty target, different schema versions, a
// source log that does not verify, data with no place in the target.
//
// They need a server: VOUCH_TEST_POSTGRES_DSN (scripts/pg-test-cluster start prints one); without
// it they skip. Each test copies into a schema of its own, dropped at its end.
#include "vouch/storage/copy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <optional>
#include <span>
#include <thread>

#include "vouch/store/migrations.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

std::string TestDsn() {
  const char* dsn = std::getenv("VOUCH_TEST_POSTGRES_DSN");
  return dsn != nullptr ? dsn : "";
}

// The log check the tests give the copy: the count, a hash over every (seq, body), and the latest
// checkpoint with its cosignature lines, refused (DATA_LOSS) unless its root is the tree hash of
// the first `size` bodies. audit::VerifiedLogSummary, which `vouch migrate` gives, checks the same
// against the stored tree (and the signature); audit/ is a layer this test may not include.
Result<LogSummary> Summarize(Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1'000'000}));
  std::string all;
  for (const auto& e : events) all += fmt::format("{}:{}\n", e.seq, e.body);
  LogSummary out{static_cast<int64_t>(events.size()), Sha256Hex(all)};
  VOUCH_ASSIGN_OR_RETURN(std::optional<AuditCheckpointRow> latest, tx.LatestAuditCheckpoint());
  if (!latest) return out;
  tlog::RightEdge tree;
  for (size_t i = 0; i < events.size() && tree.size() < static_cast<uint64_t>(latest->size); ++i) {
    tree.Append(tlog::LeafHash(events[i].body));
  }
  if (tree.size() != static_cast<uint64_t>(latest->size) ||
      Base64Encode(tlog::HashBytes(tree.Root())) != latest->root) {
    return Status(StatusCode::kDataLoss,
                  fmt::format("the latest checkpoint (size {}) is not the tree's", latest->size));
  }
  CheckpointSummary checkpoint{.size = latest->size, .root = latest->root, .note = latest->note};
  VOUCH_ASSIGN_OR_RETURN(auto cosignatures, tx.ListAuditCosignatures(latest->id));
  for (const AuditCosignatureRow& c : cosignatures) checkpoint.note += c.line + "\n";
  out.checkpoint = std::move(checkpoint);
  return out;
}

constexpr char kOrigin[] = "registry.example/api/v1/audit/log";
constexpr char kWitnessLine[] = "\xe2\x80\x94 witness.example/w AQIDBAUG";

// Runs SQL on a closed SQLite file; fails the test when SQLite refuses it.
void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close_v2(db);
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestDsn().empty()) GTEST_SKIP() << "VOUCH_TEST_POSTGRES_DSN is not set";
    static std::atomic<int> counter{0};
    schema_ = fmt::format("vouch_copy_test_{}_{}", getpid(), counter++);
  }
  void TearDown() override {
    if (schema_.empty()) return;
    auto raw = PgConn::Open({.dsn = TestDsn()});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    const std::string drop = fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema_);
    EXPECT_TRUE((*raw)->Exec(drop.c_str()).ok());
  }

  PostgresOptions Target() const { return {.dsn = TestDsn(), .pool_size = 2, .schema = schema_}; }
  CopyOptions Options() const {
    return {.sqlite_path = db_.path(), .target = Target(), .check_log = Summarize};
  }
  // A connection in the test's schema (which the first copy or Open creates).
  std::unique_ptr<PgConn> Raw() {
    auto raw = PgConn::Open({.dsn = TestDsn(), .schema = schema_});
    EXPECT_TRUE(raw.ok()) << raw.status().ToString();
    return raw.ok() ? std::move(raw).value() : nullptr;
  }
  std::string One(const std::string& sql) {
    auto raw = Raw();
    if (!raw) return "";
    PGresult* res = PQexec(raw->raw(), sql.c_str());
    std::string out;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
      out = PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0);
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(res);
    }
    PQclear(res);
    return out;
  }
  void PgExec(const std::string& sql) {
    auto raw = Raw();
    ASSERT_TRUE(raw);
    Status s = raw->Exec(sql.c_str());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A registry as the service would leave it: a principal with a token, models with tags, a
  // deleted model, versions with tags, metrics and params, an alias, events and outbox rows.
  void Populate() {
    ASSERT_TRUE(db_.is_open());
    Status s = db_.store().Write([&](Tx& tx) -> Status {
      Principal admin{.name = "admin", .is_admin = true};
      VOUCH_TRY(tx.InsertPrincipal(admin, kT0));
      TokenRecord token{
          .principal_id = admin.id, .name = "t", .token_hash = "h", .created_ms = kT0};
      VOUCH_TRY(tx.InsertToken(token));
      for (const std::string name : {"fraud", "churn", "gone"}) {
        Model m{.name = name, .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
        m.tags = {{"team", "risk"}, {"quote", "it's \"x\""}};
        VOUCH_TRY(tx.InsertModel(m));
        for (int64_t n = 1; n <= 3; ++n) {
          ModelVersion v{.model_id = m.id,
                         .version = n,
                         .source = fmt::format("s3://b/{}/{}", name, n),
                         .tags = {{"commit", "1a2b"}},
                         .metrics = {{"auc", 0.9303381542885225}, {"loss", 1e-300}},
                         .params = {{"lr", "0.1"}},
                         .created_ms = kT0,
                         .updated_ms = kT0,
                         .created_by = "alice"};
          VOUCH_TRY(tx.InsertVersion(v));
          m.last_version = n;
        }
        VOUCH_TRY(tx.UpdateModel(m));
        VOUCH_TRY(tx.SetAlias(m.id, "champion", 2));
        if (name == "gone") VOUCH_TRY(tx.MarkModelDeleted(m.id, kT0 + 1));
        for (const char* action : {"model.created", "model_version.created"}) {
          AuditEvent e;
          e.time_ms = kT0;
          e.actor_name = "alice";
          e.action = action;
          e.model_id = m.id;
          e.model_name = name;
          VOUCH_ASSIGN_OR_RETURN(int64_t seq, tx.AppendAuditEvent(e, [&](int64_t n) {
            return CanonicalJson(json::object{{"seq", n}, {"action", e.action}, {"model", name}});
          }));
          VOUCH_TRY(tx.EnqueueOutbox(seq, action, "{}", kT0));
        }
      }
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Signed checkpoints of the source's log at size 2 and at its end (the latest, cosigned by a
  // witness), by one key, stored as the checkpoint and witness services store them. Returns the
  // latest as the server serves it: its note, then the cosignature line.
  std::string AddCheckpoints() {
    const tlog::Signer signer = tlog::GenerateSigner(kOrigin).value();
    const tlog::Verifier verifier = tlog::VerifierOf(signer);
    std::string served;
    Status s = db_.store().Write([&](Tx& tx) -> Status {
      AuditSigningKey key{.name = kOrigin,
                          .key_id = fmt::format("{:08x}", verifier.key_id),
                          .verifier_key = tlog::FormatVerifierKey(verifier),
                          .public_key = Base64Encode(verifier.public_key),
                          .seed_nonce = "bm9uY2U",
                          .seed_sealed = "c2VhbGVk",
                          .created_ms = kT0};
      VOUCH_TRY(tx.InsertAuditSigningKey(key));
      VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1'000}));
      tlog::RightEdge tree;
      for (const StoredAuditEvent& e : events) {
        tree.Append(tlog::LeafHash(e.body));
        if (tree.size() != 2 && tree.size() != events.size()) continue;
        tlog::Checkpoint c{kOrigin, tree.size(), tree.Root(), {}};
        VOUCH_ASSIGN_OR_RETURN(std::string note, tlog::SignCheckpoint(c, std::span(&signer, 1)));
        AuditCheckpointRow row{.size = static_cast<int64_t>(tree.size()),
                               .root = Base64Encode(tlog::HashBytes(tree.Root())),
                               .note = note,
                               .key_id = key.id,
                               .created_ms = kT0};
        VOUCH_TRY(tx.InsertAuditCheckpoint(row).status());
        served = note;
      }
      VOUCH_ASSIGN_OR_RETURN(auto latest, tx.LatestAuditCheckpoint());
      if (!latest) return Internal("no checkpoint was stored");
      return tx
          .InsertAuditCosignature({latest->id, "witness.example/w", "01020304", kWitnessLine, kT0})
          .status();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return served + kWitnessLine + "\n";
  }

  int64_t Count(const std::string& table) {
    const std::string n = One("SELECT COUNT(*) FROM " + table);
    return n.empty() ? -1 : std::stoll(n);
  }

  TempSqliteStore db_;
  std::string schema_;
};

TEST_F(CopyTest, CopiesEveryTableRowForRowAndTheLogsAgree) {
  Populate();
  // The source stays open with its writer: the copy reads its own snapshot beside it.
  auto report = CopySqliteToPostgres(Options());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->schema_version, LatestMigrationVersion("sqlite"));
  EXPECT_EQ(report->log.events, 6);
  EXPECT_EQ(report->log.checkpoint, std::nullopt);
  std::map<std::string, int64_t> copied;
  for (const TableCopy& t : report->tables) {
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
    copied[t.table] = t.target_rows;
  }
  EXPECT_EQ(copied["principals"], 1);
  EXPECT_EQ(copied["tokens"], 1);
  EXPECT_EQ(copied["models"], 3);
  EXPECT_EQ(copied["model_tags"], 6);
  EXPECT_EQ(copied["model_versions"], 9);
  EXPECT_EQ(copied["version_metrics"], 18);
  EXPECT_EQ(copied["version_params"], 9);
  EXPECT_EQ(copied["version_tags"], 9);
  EXPECT_EQ(copied["model_aliases"], 3);
  EXPECT_EQ(copied["audit_events"], 6);
  EXPECT_EQ(copied["outbox"], 6);
  EXPECT_FALSE(copied.contains("schema_migrations"));
  EXPECT_FALSE(copied.contains("sqlite_sequence"));
  bool noted_head = false;
  for (const std::string& note : report->notes) {
    noted_head = noted_head || note.find("audit_head") != std::string::npos;
  }
  EXPECT_TRUE(noted_head);
  // The Merkle tree travels: its stored hashes as a table, its size and right edge from SQLite's
  // audit_tree row into PostgreSQL's audit_head row (read before any store opens the target and
  // could build a tree of its own).
  EXPECT_EQ(copied["audit_hashes"], 6);
  EXPECT_FALSE(copied.contains("audit_tree"));
  std::string source_edge;
  ASSERT_TRUE(db_.store()
                  .Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(auto roots, tx.AuditTreeEdge());
                    for (const tlog::Hash& h : roots) source_edge += HexEncode(tlog::HashBytes(h));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(One("SELECT tree_size FROM audit_head"), "6");
  EXPECT_EQ(One("SELECT encode(tree_edge, 'hex') FROM audit_head"), source_edge);

  auto pg = PostgresStore::Open(Target());
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  Status read = (*pg)->Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto m, tx.FindModel("fraud"));
    EXPECT_TRUE(m.has_value());
    if (!m) return OkStatus();
    EXPECT_EQ(m->tags, (StringMap{{"team", "risk"}, {"quote", "it's \"x\""}}));
    EXPECT_EQ(m->aliases, (std::map<std::string, int64_t>{{"champion", 2}}));
    VOUCH_ASSIGN_OR_RETURN(auto v, tx.FindVersion(m->id, 3));
    EXPECT_TRUE(v.has_value());
    if (v) {
      EXPECT_EQ(v->metrics, (MetricMap{{"auc", 0.9303381542885225}, {"loss", 1e-300}}));
      EXPECT_EQ(v->params, (StringMap{{"lr", "0.1"}}));
    }
    VOUCH_ASSIGN_OR_RETURN(auto gone, tx.FindModel("gone"));
    EXPECT_FALSE(gone.has_value());
    VOUCH_ASSIGN_OR_RETURN(auto token, tx.FindToken("h"));
    EXPECT_TRUE(token.has_value());
    return OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read.ToString();

  // The same log on both sides, byte for byte.
  std::vector<StoredAuditEvent> source_events, target_events;
  ASSERT_TRUE(db_.store()
                  .Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(source_events, tx.ListAuditEvents({.limit = 100}));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_TRUE((*pg)
                  ->Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(target_events, tx.ListAuditEvents({.limit = 100}));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_EQ(source_events.size(), target_events.size());
  for (size_t i = 0; i < source_events.size(); ++i) {
    EXPECT_EQ(source_events[i].seq, target_events[i].seq);
    EXPECT_EQ(source_events[i].body, target_events[i].body);
  }

  // New rows continue after the copied ones: ids and the audit sequence.
  int64_t seq = 0;
  Model fresh{.name = "fresh", .created_ms = kT0, .updated_ms = kT0, .created_by = "bob"};
  Principal bob{.name = "bob"};
  Status write = (*pg)->Write([&](Tx& tx) -> Status {
    VOUCH_TRY(tx.InsertModel(fresh));
    VOUCH_TRY(tx.InsertPrincipal(bob, kT0));
    AuditEvent e;
    e.action = "model.created";
    VOUCH_ASSIGN_OR_RETURN(seq, tx.AppendAuditEvent(e, [](int64_t n) {
      return CanonicalJson(json::object{{"seq", n}});
    }));
    return OkStatus();
  });
  ASSERT_TRUE(write.ok()) << write.ToString();
  EXPECT_EQ(seq, 7);
  EXPECT_EQ(One("SELECT tree_size FROM audit_head"), "7");
  EXPECT_EQ(fresh.id, 4);
  EXPECT_EQ(bob.id, 2);
}

// Issue 12: the approval tables travel too, and the target continues after them: the next policy
// version number, request ids, the one-open-request rule and the immutability of what was
// published.
TEST_F(CopyTest, ApprovalsAreCopiedAndTheTargetContinuesAfterThem) {
  Populate();
  int64_t request_id = 0;
  Status s = db_.store().Write([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow("fraud"));
    if (!m) return NotFound("fraud");
    for (const char* body : {R"({"v":1})", R"({"v":2})"}) {
      PolicyRecord p{.name = "production",
                     .target = "stage:Production",
                     .body = body,
                     .digest = std::string(64, 'd'),
                     .source_yaml = "policies: []\n",
                     .created_ms = kT0,
                     .created_by_id = 1};
      VOUCH_TRY(tx.PublishPolicy(p));
    }
    PolicyRecord old{.name = "old", .target = "alias:champion", .body = "{}", .created_ms = kT0};
    VOUCH_TRY(tx.PublishPolicy(old));
    VOUCH_ASSIGN_OR_RETURN(bool retired, tx.RetirePolicy("old", kT0 + 1, 1));
    if (!retired) return Internal("not retired");
    ApprovalRequest r{.model_id = m->id,
                      .version = 2,
                      .target = "stage:Production",
                      .requester_id = 1,
                      .comment = "ship it",
                      .policy_name = "production",
                      .policy_version = 2,
                      .fingerprint = "f1",
                      .created_ms = kT0,
                      .updated_ms = kT0,
                      .expires_ms = kT0 + 1000};
    VOUCH_TRY(tx.InsertRequest(r));
    request_id = r.id;
    ApprovalReview review{.request_id = r.id,
                          .reviewer_id = 1,
                          .printed_name = "Ana Admin",
                          .meaning = "approved",
                          .fingerprint = "f1",
                          .created_ms = kT0 + 2};
    VOUCH_TRY(tx.InsertReview(review));
    VersionCheck check{.model_id = m->id,
                       .version = 2,
                       .name = "ci/tests",
                       .state = CheckState::kSuccess,
                       .fingerprint = "f1",
                       .poster_id = 1,
                       .created_ms = kT0};
    VOUCH_TRY(tx.PostCheck(check).status());
    RequestComment comment{.request_id = r.id,
                           .model_id = m->id,
                           .version = 2,
                           .author_id = 1,
                           .text = "why now?",
                           .created_ms = kT0,
                           .updated_ms = kT0};
    return tx.InsertComment(comment);
  });
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto report = CopySqliteToPostgres(Options());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::map<std::string, int64_t> copied;
  for (const TableCopy& t : report->tables) copied[t.table] = t.target_rows;
  EXPECT_EQ(copied["policies"], 2);
  EXPECT_EQ(copied["policy_versions"], 3);
  EXPECT_EQ(copied["approval_requests"], 1);
  EXPECT_EQ(copied["approval_reviews"], 1);
  EXPECT_EQ(copied["version_checks"], 1);
  EXPECT_EQ(copied["request_comments"], 1);

  auto pg = PostgresStore::Open(Target());
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  Status read = (*pg)->Read([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto latest, tx.FindLatestPolicy("production"));
    EXPECT_TRUE(latest.has_value());
    if (latest) {
      EXPECT_EQ(latest->version, 2);
      EXPECT_EQ(latest->body, R"({"v":2})");
      EXPECT_EQ(latest->source_yaml, "policies: []\n");
    }
    VOUCH_ASSIGN_OR_RETURN(auto live, tx.ListPolicies(false));
    EXPECT_EQ(live.size(), 1u);
    VOUCH_ASSIGN_OR_RETURN(auto r, tx.FindRequest(request_id));
    EXPECT_TRUE(r.has_value());
    if (r) {
      EXPECT_EQ(r->state, RequestState::kOpen);
      EXPECT_EQ(r->comment, "ship it");
      EXPECT_EQ(r->expires_ms, std::optional<TimeMs>(kT0 + 1000));
      VOUCH_ASSIGN_OR_RETURN(auto reviews, tx.ListReviews(r->id));
      EXPECT_EQ(reviews.size(), 1u);
      if (!reviews.empty()) {
        EXPECT_EQ(reviews[0].printed_name, "Ana Admin");
      }
      VOUCH_ASSIGN_OR_RETURN(auto checks, tx.ListChecks(r->model_id, 2));
      EXPECT_EQ(checks.size(), 1u);
      VOUCH_ASSIGN_OR_RETURN(auto comments, tx.ListComments(r->model_id, 2));
      EXPECT_EQ(comments.size(), 1u);
    }
    return OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read.ToString();

  ApprovalRequest twin;
  PolicyRecord next{.name = "production", .target = "stage:Production", .body = R"({"v":3})"};
  ApprovalRequest other;
  Status write = (*pg)->Write([&](Tx& tx) -> Status {
    VOUCH_TRY(tx.PublishPolicy(next));
    VOUCH_ASSIGN_OR_RETURN(auto r, tx.FindRequest(request_id));
    if (!r) return NotFound("request");
    other = *r;
    other.version = 3;
    return tx.InsertRequest(other);
  });
  ASSERT_TRUE(write.ok()) << write.ToString();
  EXPECT_EQ(next.version, 3);
  EXPECT_GT(next.id, 3);
  EXPECT_EQ(other.id, request_id + 1);
  Status clash = (*pg)->Write([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto r, tx.FindRequest(request_id));
    if (!r) return NotFound("request");
    twin = *r;
    return tx.InsertRequest(twin);
  });
  EXPECT_EQ(clash.code(), StatusCode::kAlreadyExists) << clash.ToString();
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  EXPECT_FALSE(raw->Exec("UPDATE policy_versions SET body = '{}'").ok());
}

TEST_F(CopyTest, ACopyWhileTheSourceIsWrittenIsOneSnapshotOfIt) {
  Populate();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      Status s = db_.store().Write([&](Tx& tx) -> Status {
        Model m{.name = fmt::format("w{}", i), .created_ms = kT0, .updated_ms = kT0};
        VOUCH_TRY(tx.InsertModel(m));
        AuditEvent e;
        e.action = "model.created";
        return tx
            .AppendAuditEvent(e,
                              [](int64_t n) {
                                return CanonicalJson(json::object{{"seq", n}});
                              })
            .status();
      });
      if (s.ok()) ++written;
    }
  });
  while (written < 20) std::this_thread::yield();
  auto report = CopySqliteToPostgres(Options());
  const int at_copy = written;
  while (written < at_copy + 20) std::this_thread::yield();
  stop = true;
  writer.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Each write adds one model and one event: a snapshot has them in step.
  const int64_t models = Count("models");
  EXPECT_EQ(Count("audit_events") - 6, models - 3);
  EXPECT_EQ(report->log.events, Count("audit_events"));
  EXPECT_GE(models - 3, 20);
  EXPECT_LT(models - 3, written.load());
}

TEST_F(CopyTest, ATableTheCopyHasNeverHeardOfIsCopiedAfterItsParent) {
  Populate();
  db_.Close();
  // "a_child" sorts before "models", which its foreign key points at.
  SqliteExec(db_.path(),
             "CREATE TABLE a_child (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER "
             "REFERENCES models(id), data BLOB, ratio REAL, note TEXT);"
             "INSERT INTO a_child VALUES (1, 1, x'00ff10', 0.1, NULL);"
             "INSERT INTO a_child VALUES (5, 2, NULL, 1e300, 'h\xc3\xa9 \"q\"');"
             "INSERT INTO a_child VALUES (7, 2, NULL, NULL, 'removed');"
             "DELETE FROM a_child WHERE id = 7;"
             "CREATE TABLE b_serial (id INTEGER PRIMARY KEY, v TEXT);"
             "INSERT INTO b_serial VALUES (3, 'x');");
  ASSERT_TRUE(PostgresStore::Open(Target()).ok());
  PgExec(
      "CREATE TABLE a_child (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, model_id "
      "BIGINT REFERENCES models(id), data BYTEA, ratio DOUBLE PRECISION, note TEXT, only_pg TEXT "
      "NOT NULL DEFAULT 'd')");
  PgExec("CREATE TABLE b_serial (id BIGSERIAL PRIMARY KEY, v TEXT)");
  auto report = CopySqliteToPostgres(Options());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::vector<std::string> order;
  for (const TableCopy& t : report->tables) order.push_back(t.table);
  auto at = [&](const std::string& t) { return std::find(order.begin(), order.end(), t); };
  ASSERT_NE(at("a_child"), order.end());
  EXPECT_GT(at("a_child"), at("models"));
  EXPECT_GT(at("outbox"), at("audit_events"));
  EXPECT_GT(at("version_metrics"), at("model_versions"));

  EXPECT_EQ(One("SELECT encode(data, 'hex') FROM a_child WHERE id = 1"), "00ff10");
  EXPECT_EQ(One("SELECT ratio = 0.1::float8 FROM a_child WHERE id = 1"), "t");
  EXPECT_EQ(One("SELECT note FROM a_child WHERE id = 1"), "NULL");
  EXPECT_EQ(One("SELECT ratio = 1e300::float8 FROM a_child WHERE id = 5"), "t");
  EXPECT_EQ(One("SELECT note FROM a_child WHERE id = 5"), "h\xc3\xa9 \"q\"");
  EXPECT_EQ(One("SELECT only_pg FROM a_child WHERE id = 5"), "d");
  // Ids continue after every id SQLite handed out, including the deleted row's.
  PgExec("INSERT INTO a_child (model_id) VALUES (1)");
  EXPECT_EQ(One("SELECT MAX(id) FROM a_child"), "8");
  // A serial column's sequence continues too.
  PgExec("INSERT INTO b_serial (v) VALUES ('y')");
  EXPECT_EQ(One("SELECT id FROM b_serial WHERE v = 'y'"), "4");
}

TEST_F(CopyTest, TheCheckpointsTheirCosignaturesAndKeysAreCopiedAndTheLatestIsReported) {
  Populate();
  const std::string served = AddCheckpoints();
  auto report = CopySqliteToPostgres(Options());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->log.checkpoint.has_value());
  EXPECT_EQ(report->log.checkpoint->size, 6);
  EXPECT_EQ(report->log.checkpoint->note, served);
  EXPECT_EQ(report->log.checkpoint->root, served.substr(served.find("\n6\n") + 3, 44));
  std::map<std::string, int64_t> copied;
  for (const TableCopy& t : report->tables) copied[t.table] = t.target_rows;
  EXPECT_EQ(copied["audit_signing_keys"], 1);
  EXPECT_EQ(copied["audit_checkpoints"], 2);
  EXPECT_EQ(copied["audit_cosignatures"], 1);
  EXPECT_EQ(Count("audit_checkpoints"), 2);
  EXPECT_EQ(One("SELECT root FROM audit_checkpoints WHERE size = 6"), report->log.checkpoint->root);

  auto pg = PostgresStore::Open(Target());
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  std::optional<AuditCheckpointRow> latest;
  std::vector<AuditCosignatureRow> cosignatures;
  ASSERT_TRUE((*pg)
                  ->Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(latest, tx.LatestAuditCheckpoint());
                    if (!latest) return OkStatus();
                    VOUCH_ASSIGN_OR_RETURN(cosignatures, tx.ListAuditCosignatures(latest->id));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(latest.has_value());
  ASSERT_EQ(cosignatures.size(), 1u);
  EXPECT_EQ(latest->note + cosignatures[0].line + "\n", served);
}

// The source's latest checkpoint row altered behind the store's back (its append-only trigger
// dropped): its root is no longer the tree's, and the log check refuses it before anything is
// copied.
TEST_F(CopyTest, ASourceCheckpointThatIsNotItsTreesIsRefusedAndNothingIsWritten) {
  Populate();
  AddCheckpoints();
  db_.Close();
  SqliteExec(db_.path(),
             "DROP TRIGGER audit_checkpoints_no_update; UPDATE audit_checkpoints SET root = "
             "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' WHERE size = 6");
  auto copy = CopySqliteToPostgres(Options());
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(copy.status().message().find("the source's audit log"), std::string::npos)
      << copy.status().message();
  EXPECT_NE(copy.status().message().find("the latest checkpoint (size 6)"), std::string::npos)
      << copy.status().message();
  EXPECT_EQ(Count("audit_checkpoints"), 0);
  EXPECT_EQ(Count("audit_signing_keys"), 0);
  EXPECT_EQ(Count("audit_events"), 0);
  EXPECT_EQ(Count("models"), 0);
}

// Each side's check passes, but the two latest checkpoints differ: the copy names what differs and
// rolls back.
TEST_F(CopyTest, ALatestCheckpointThatDiffersBetweenTheSidesIsDataLossNamingIt) {
  Populate();
  const std::string served = AddCheckpoints();
  struct Case {
    std::function<void(LogSummary&)> change;
    std::string message;
  };
  const std::string root = served.substr(served.find("\n6\n") + 3, 44);
  const std::vector<Case> cases = {
      {[](LogSummary& s) { s.checkpoint->note.erase(s.checkpoint->note.find(kWitnessLine)); },
       "the copied latest checkpoint (size 6) differs in its signed note: its signatures or "
       "cosignatures are not the same in the source and the target"},
      {[](LogSummary& s) { s.checkpoint->size = 2; },
       fmt::format("the copied latest checkpoint differs: size 6, root {} in the source; size 2, "
                   "root {} in the target",
                   root, root)},
      {[](LogSummary& s) { s.checkpoint.reset(); },
       fmt::format("the copied latest checkpoint differs: size 6, root {} in the source; none in "
                   "the target",
                   root)},
  };
  for (const Case& c : cases) {
    CopyOptions options = Options();
    int calls = 0;
    options.check_log = [&](Tx& tx) -> Result<LogSummary> {
      VOUCH_ASSIGN_OR_RETURN(LogSummary s, Summarize(tx));
      if (++calls == 2) c.change(s);
      return s;
    };
    auto copy = CopySqliteToPostgres(options);
    ASSERT_FALSE(copy.ok()) << c.message;
    EXPECT_EQ(copy.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(copy.status().message(), c.message);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(Count("audit_checkpoints"), 0);
    EXPECT_EQ(Count("audit_events"), 0);
    EXPECT_EQ(Count("models"), 0);
  }
}

TEST_F(CopyTest, ASecondCopyIntoTheNowFilledTargetIsRefusedAndChangesNothing) {
  Populate();
  ASSERT_TRUE(CopySqliteToPostgres(Options()).ok());
  const int64_t models = Count("models");
  auto again = CopySqliteToPostgres(Options());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("not empty"), std::string::npos)
      << again.status().message();
  EXPECT_EQ(Count("models"), models);
  EXPECT_EQ(One("SELECT next_seq FROM audit_head"), "7");
}

TEST_F(CopyTest, ATargetWithRowsOutsideTheAuditLogIsRefused) {
  Populate();
  ASSERT_TRUE(PostgresStore::Open(Target()).ok());
  PgExec("INSERT INTO principals (name, kind, created_ms) VALUES ('someone', 'user', 0)");
  auto copy = CopySqliteToPostgres(Options());
  EXPECT_EQ(copy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(copy.status().message().find("principals"), std::string::npos)
      << copy.status().message();
  EXPECT_EQ(Count("models"), 0);
}

TEST_F(CopyTest, DifferentSchemaVersionsAreRefused) {
  Populate();
  db_.Close();
  SqliteExec(db_.path(), "DELETE FROM schema_migrations WHERE version > 1");
  auto copy = CopySqliteToPostgres(Options());
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(copy.status().message().find("schema version 1"), std::string::npos)
      << copy.status().message();
  EXPECT_EQ(Count("models"), 0);
}

TEST_F(CopyTest, ASourceWhoseLogDoesNotVerifyIsRefusedAndNothingIsWritten) {
  Populate();
  CopyOptions options = Options();
  options.check_log = [](Tx&) -> Result<LogSummary> {
    return Status(StatusCode::kDataLoss, "audit event 3: missing");
  };
  auto copy = CopySqliteToPostgres(options);
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(copy.status().message().find("the source's audit log"), std::string::npos);
  EXPECT_EQ(Count("models"), 0);
  EXPECT_EQ(Count("audit_events"), 0);
}

TEST_F(CopyTest, LogsThatDifferAfterTheCopyAreDataLossAndRolledBack) {
  Populate();
  CopyOptions options = Options();
  int calls = 0;
  options.check_log = [&](Tx& tx) -> Result<LogSummary> {
    VOUCH_ASSIGN_OR_RETURN(LogSummary s, Summarize(tx));
    if (++calls == 2) s.digest = "something else";
    return s;
  };
  auto copy = CopySqliteToPostgres(options);
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Count("models"), 0);
  EXPECT_EQ(Count("audit_events"), 0);
}

TEST_F(CopyTest, ASourceTableWithRowsAndNoPlaceInTheTargetIsRefused) {
  Populate();
  db_.Close();
  SqliteExec(db_.path(), "CREATE TABLE only_here (x TEXT); INSERT INTO only_here VALUES ('a')");
  auto copy = CopySqliteToPostgres(Options());
  EXPECT_EQ(copy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(copy.status().message().find("only_here"), std::string::npos);
  EXPECT_EQ(Count("models"), 0);

  SqliteExec(db_.path(), "DELETE FROM only_here");
  auto empty = CopySqliteToPostgres(Options());
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  bool noted = false;
  for (const std::string& note : empty->notes) noted |= note.find("only_here") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST_F(CopyTest, ABlobInATextColumnIsRefused) {
  Populate();
  db_.Close();
  SqliteExec(db_.path(), "INSERT INTO model_tags VALUES (1, 'raw', x'00ff')");
  auto copy = CopySqliteToPostgres(Options());
  EXPECT_EQ(copy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(copy.status().message().find("model_tags.value holds a BLOB"), std::string::npos)
      << copy.status().message();
  EXPECT_EQ(Count("models"), 0);
}

TEST_F(CopyTest, AMissingSourceIsUnavailableAndANonVouchFileRefused) {
  CopyOptions options = Options();
  options.sqlite_path = db_.path() + ".missing";
  EXPECT_EQ(CopySqliteToPostgres(options).status().code(), StatusCode::kUnavailable);
  db_.Close();
  SqliteExec(db_.path(), "DROP TABLE schema_migrations");
  EXPECT_EQ(CopySqliteToPostgres(Options()).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vouch::store::testing
