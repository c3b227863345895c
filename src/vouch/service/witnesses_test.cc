#include "vouch/service/witnesses.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "vouch/net/loopback_server_test.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

using net::testing::LoopbackServer;

constexpr std::string_view kOrigin = "vouch.test/api/v1/audit/log";

std::string Answer(std::string_view status, std::string_view headers, std::string_view body) {
  return fmt::format("HTTP/1.1 {}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                     headers, body.size(), body);
}

std::string BodyOf(const std::string& request) {
  return request.substr(request.find("\r\n\r\n") + 4);
}

// A log of `n` leaves "event 1" … "event n", its hashes computed from the leaves (small trees).
class FakeLog final : public WitnessLog {
 public:
  explicit FakeLog(const tlog::Signer& signer) : signer_(signer) {}

  void Grow(uint64_t n) {
    while (leaves_.size() < n) leaves_.push_back(fmt::format("event {}", leaves_.size() + 1));
  }
  // Signs a checkpoint of the current tree and makes it the latest.
  std::string Checkpoint() {
    tlog::Checkpoint c{std::string(kOrigin), leaves_.size(), Root(leaves_.size()).value(), {}};
    const tlog::Signer signers[] = {signer_};
    latest_ = WitnessedCheckpoint{leaves_.size(), tlog::SignCheckpoint(c, signers).value()};
    return latest_->note;
  }
  void SetLatest(WitnessedCheckpoint c) { latest_ = std::move(c); }
  Result<tlog::Hash> Root(uint64_t size) { return tlog::TreeHash(size, Reader()); }

  Result<std::optional<WitnessedCheckpoint>> Latest() override { return latest_; }
  Result<std::vector<tlog::Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) override {
    return tlog::ConsistencyProof(old_size, new_size, Reader());
  }
  Status StoreCosignatures(uint64_t size,
                           std::span<const AcceptedCosignature> cosignatures) override {
    for (const AcceptedCosignature& c : cosignatures) stored_[size].push_back(c);
    return OkStatus();
  }

  std::map<uint64_t, std::vector<AcceptedCosignature>> stored_;

 private:
  tlog::HashReader Reader() {
    return [this](int level, uint64_t index) -> Result<tlog::Hash> { return Hash(level, index); };
  }
  tlog::Hash Hash(int level, uint64_t index) {
    if (level == 0) return tlog::LeafHash(leaves_.at(index));
    return tlog::NodeHash(Hash(level - 1, 2 * index), Hash(level - 1, 2 * index + 1));
  }

  tlog::Signer signer_;
  std::vector<std::string> leaves_;
  std::optional<WitnessedCheckpoint> latest_;
};

struct Keys {
  tlog::Signer log = tlog::GenerateSigner(kOrigin).value();
  tlog::Cosigner witness = tlog::CosignerOf(tlog::GenerateSigner("witness.test/w1").value());
  tlog::Cosigner stranger = tlog::CosignerOf(tlog::GenerateSigner("witness.test/w2").value());
};

// The signature lines `cosigner` adds to `note`.
std::string CosignatureLines(std::string_view note, const tlog::Cosigner& cosigner,
                             uint64_t timestamp = 1'700'000'000) {
  std::string cosigned = tlog::Cosign(note, cosigner, timestamp).value();
  return cosigned.substr(note.size());
}

TEST(AddCheckpointBody, IsTheOldSizeTheProofLinesABlankLineAndTheCheckpoint) {
  tlog::Hash a{};
  tlog::Hash b{};
  b.fill(0xff);
  const tlog::Hash proof[] = {a, b};
  EXPECT_EQ(AddCheckpointBody(3, proof, "origin\n5\nroot=\n\n— origin sig\n"),
            "old 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
            "//////////////////////////////////////////8=\n\norigin\n5\nroot=\n\n— origin sig\n");
  EXPECT_EQ(AddCheckpointBody(0, {}, "cp\n"), "old 0\n\ncp\n");
}

TEST(WithLogSignaturesOnly, KeepsTheLogsSignatureAndDropsCosignatures) {
  Keys keys;
  FakeLog log(keys.log);
  log.Grow(2);
  const std::string note = log.Checkpoint();
  const std::string cosigned = note + CosignatureLines(note, keys.witness);
  EXPECT_EQ(WithLogSignaturesOnly(cosigned).value(), note);
  EXPECT_EQ(WithLogSignaturesOnly("no blank line\n").status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseAddCheckpointAnswer, ReadsCosignatureLinesAndTheWitnessSizeOnConflict) {
  net::HttpResponse ok{.status = 200, .body = "\xe2\x80\x94 w AAAAAAAA\n"};
  auto a = ParseAddCheckpointAnswer(ok);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->kind, AddCheckpointAnswer::Kind::kCosigned);

  net::HttpResponse conflict{
      .status = 409, .headers = {{"content-type", "text/x.tlog.size"}}, .body = "20852014\n"};
  auto c = ParseAddCheckpointAnswer(conflict);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kind, AddCheckpointAnswer::Kind::kConflict);
  EXPECT_EQ(c->witness_size, 20852014u);
}

TEST(ParseAddCheckpointAnswer, NamesEachRefusalWithItsCode) {
  auto code = [](int status, net::HeaderList headers = {}, std::string body = "") {
    return ParseAddCheckpointAnswer(
               {.status = status, .headers = std::move(headers), .body = std::move(body)})
        .status()
        .code();
  };
  EXPECT_EQ(code(404), StatusCode::kNotFound);
  EXPECT_EQ(code(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(422), StatusCode::kFailedPrecondition);
  EXPECT_EQ(code(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(409), StatusCode::kFailedPrecondition);  // same size, another root
  EXPECT_EQ(code(429), StatusCode::kUnavailable);
  EXPECT_EQ(code(503), StatusCode::kUnavailable);
  const net::HeaderList size_type = {{"Content-Type", "text/x.tlog.size"}};
  EXPECT_EQ(code(409, size_type, "12"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(409, size_type, "012\n"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(409, size_type, "-1\n"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(200, {}, ""), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(200, {}, "not a signature\n"), StatusCode::kInvalidArgument);
}

TEST(VerifyWitnessAnswer, AcceptsTheConfiguredWitnessAndIgnoresOthers) {
  Keys keys;
  FakeLog log(keys.log);
  log.Grow(4);
  const std::string note = log.Checkpoint();
  const std::string lines =
      CosignatureLines(note, keys.stranger) + CosignatureLines(note, keys.witness, 1234);
  const tlog::CosignatureVerifier known[] = {tlog::CosignatureVerifierOf(keys.witness)};
  auto accepted = VerifyWitnessAnswer(note, lines, known);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  ASSERT_EQ(accepted->size(), 1u);
  EXPECT_EQ((*accepted)[0].witness, "witness.test/w1");
  EXPECT_EQ((*accepted)[0].key_id, keys.witness.key_id);
  EXPECT_EQ((*accepted)[0].timestamp, 1234u);
  EXPECT_EQ((*accepted)[0].line, CosignatureLines(note, keys.witness, 1234));
}

TEST(VerifyWitnessAnswer, RefusesAnAnswerWithoutACosignatureByAConfiguredKey) {
  Keys keys;
  FakeLog log(keys.log);
  log.Grow(4);
  const std::string note = log.Checkpoint();
  const tlog::CosignatureVerifier known[] = {tlog::CosignatureVerifierOf(keys.witness)};
  auto refused = VerifyWitnessAnswer(note, CosignatureLines(note, keys.stranger), known);
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("witness.test/w2+"), std::string::npos)
      << refused.status().message();
}

TEST(VerifyWitnessAnswer, RefusesACosignatureOfAnotherCheckpointByTheConfiguredKey) {
  Keys keys;
  FakeLog log(keys.log);
  log.Grow(4);
  const std::string old_note = log.Checkpoint();
  log.Grow(5);
  const std::string note = log.Checkpoint();
  const tlog::CosignatureVerifier known[] = {tlog::CosignatureVerifierOf(keys.witness)};
  EXPECT_EQ(
      VerifyWitnessAnswer(note, CosignatureLines(old_note, keys.witness), known).status().code(),
      StatusCode::kPermissionDenied);
}

// A witness service over `log` sending to `witness`'s loopback port, with a fake clock.
struct Fixture {
  Keys keys;
  FakeLog log{keys.log};
  FakeClock clock{1'000'000};
  bool leader = true;

  std::unique_ptr<WitnessService> Service(const LoopbackServer& witness) {
    WitnessOptions o;
    o.urls = {witness.Url("/witness/")};
    o.keys = {tlog::CosignatureVerifierOf(keys.witness)};
    o.first_retry_ms = 1000;
    return std::make_unique<WitnessService>(log, clock, o, [this] { return leader; });
  }
};

TEST(WitnessService, SubmitsFromOldZeroAndStoresTheCosignature) {
  Fixture f;
  f.log.Grow(3);
  const std::string note = f.log.Checkpoint();
  LoopbackServer witness({Answer("200 OK", "", CosignatureLines(note, f.keys.witness))});
  auto service = f.Service(witness);
  auto cosigned = service->RunOnce();
  ASSERT_TRUE(cosigned.ok()) << cosigned.status().ToString();
  EXPECT_EQ(*cosigned, 1);
  const std::vector<std::string> got = witness.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].starts_with("POST /witness/add-checkpoint HTTP/1.1\r\n")) << got[0];
  EXPECT_EQ(BodyOf(got[0]), "old 0\n\n" + note);
  ASSERT_EQ(f.log.stored_[3].size(), 1u);
  EXPECT_EQ(f.log.stored_[3][0].witness, "witness.test/w1");
  EXPECT_EQ(service->CosignedSize(0), 3u);
  EXPECT_EQ(service->Metrics().cosignatures_total, 1);
  EXPECT_EQ(service->Metrics().behind, 0);
}

TEST(WitnessService, OnConflictRetriesOnceFromTheWitnessSizeWithAConsistencyProof) {
  Fixture f;
  f.log.Grow(5);
  f.log.Grow(9);
  const std::string note = f.log.Checkpoint();
  LoopbackServer witness({Answer("409 Conflict", "Content-Type: text/x.tlog.size\r\n", "5\n"),
                          Answer("200 OK", "", CosignatureLines(note, f.keys.witness))});
  auto service = f.Service(witness);
  ASSERT_EQ(service->RunOnce().value(), 1);
  const std::vector<std::string> got = witness.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(BodyOf(got[0]), "old 0\n\n" + note);
  const std::vector<tlog::Hash> proof = f.log.ConsistencyProof(5, 9).value();
  EXPECT_EQ(BodyOf(got[1]), AddCheckpointBody(5, proof, note));
  // The proof sent verifies between the two roots, as the witness checks it.
  EXPECT_TRUE(
      tlog::VerifyConsistency(5, 9, proof, f.log.Root(5).value(), f.log.Root(9).value()).ok());
  EXPECT_EQ(service->CosignedSize(0), 9u);
  EXPECT_EQ(f.log.stored_[9].size(), 1u);
}

TEST(WitnessService, NextCheckpointGoesFromTheSizeLastCosigned) {
  Fixture f;
  f.log.Grow(2);
  const std::string first = f.log.Checkpoint();
  f.log.Grow(7);
  const std::string second = f.log.Checkpoint();
  f.log.SetLatest({2, first});
  LoopbackServer witness({Answer("200 OK", "", CosignatureLines(first, f.keys.witness)),
                          Answer("200 OK", "", CosignatureLines(second, f.keys.witness))});
  auto service = f.Service(witness);
  ASSERT_EQ(service->RunOnce().value(), 1);
  f.log.SetLatest({7, second});
  service->OnCheckpoint(7);
  ASSERT_EQ(service->RunOnce().value(), 1);
  const std::vector<std::string> got = witness.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(BodyOf(got[1]), AddCheckpointBody(2, f.log.ConsistencyProof(2, 7).value(), second));
  EXPECT_EQ(service->CosignedSize(0), 7u);
  EXPECT_EQ(f.log.stored_[2].size(), 1u);
  EXPECT_EQ(f.log.stored_[7].size(), 1u);
}

TEST(WitnessService, AWrongWitnessKeyStoresNothingAndBacksOff) {
  Fixture f;
  f.log.Grow(3);
  const std::string note = f.log.Checkpoint();
  LoopbackServer witness({Answer("200 OK", "", CosignatureLines(note, f.keys.stranger)),
                          Answer("200 OK", "", CosignatureLines(note, f.keys.witness))});
  auto service = f.Service(witness);
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_TRUE(f.log.stored_.empty());
  EXPECT_EQ(service->Metrics().failures_total, 1);
  EXPECT_EQ(service->Metrics().behind, 1);
  // Within the backoff nothing is sent; after it, the next attempt is.
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_EQ(witness.connections(), 1u);
  f.clock.Advance(1000);
  EXPECT_EQ(service->RunOnce().value(), 1);
  EXPECT_EQ(witness.connections(), 2u);
  EXPECT_EQ(f.log.stored_[3].size(), 1u);
  EXPECT_EQ(service->Metrics().behind, 0);
}

TEST(WitnessService, ANewCheckpointEndsTheBackoff) {
  Fixture f;
  f.log.Grow(3);
  f.log.Checkpoint();
  f.log.Grow(4);
  const std::string note = f.log.Checkpoint();
  LoopbackServer witness({Answer("503 Service Unavailable", "", ""),
                          Answer("200 OK", "", CosignatureLines(note, f.keys.witness))});
  auto service = f.Service(witness);
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_EQ(witness.connections(), 1u);
  service->OnCheckpoint(4);
  EXPECT_EQ(service->RunOnce().value(), 1);
  EXPECT_EQ(witness.connections(), 2u);
}

TEST(WitnessService, AWitnessAheadOfTheLogIsAFailureNotASecondRequest) {
  Fixture f;
  f.log.Grow(3);
  f.log.Checkpoint();
  LoopbackServer witness({Answer("409 Conflict", "Content-Type: text/x.tlog.size\r\n", "8\n")});
  auto service = f.Service(witness);
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_EQ(witness.connections(), 1u);
  EXPECT_EQ(service->Metrics().failures_total, 1);
}

TEST(WitnessService, DoesNothingOffTheLeaderOrWithoutACheckpoint) {
  Fixture f;
  LoopbackServer witness({});
  auto service = f.Service(witness);
  EXPECT_EQ(service->RunOnce().value(), 0);  // no checkpoint yet
  f.log.Grow(1);
  f.log.Checkpoint();
  f.leader = false;
  EXPECT_EQ(service->RunOnce().value(), 0);
  EXPECT_EQ(witness.connections(), 0u);
  EXPECT_EQ(service->Metrics().submissions_total, 0);
}

TEST(WitnessService, TheThreadSubmitsWhenACheckpointCommits) {
  Fixture f;
  f.log.Grow(6);
  const std::string note = f.log.Checkpoint();
  LoopbackServer witness({Answer("200 OK", "", CosignatureLines(note, f.keys.witness))});
  WitnessOptions o;
  o.urls = {witness.Url("")};
  o.keys = {tlog::CosignatureVerifierOf(f.keys.witness)};
  o.poll_ms = 3'600'000;  // only the listener wakes it in this test
  WitnessService service(f.log, f.clock, o, nullptr);
  service.Start();
  service.OnCheckpoint(6);
  witness.AwaitReceived(1);
  service.Stop();
  EXPECT_EQ(service.CosignedSize(0), 6u);
}

}  // namespace
}  // namespace vouch::service
