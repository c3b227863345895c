// The verification engine (verify.h, LogVerifier): fed a log's events in order and the signed
// checkpoints beside them, it names exactly what is wrong — an altered, missing, reordered or
// misplaced event by its seq, a truncated log, a checkpoint signed by an unknown key or with a
// signature that does not verify, a saved checkpoint this log does not hold — and otherwise
// reports the Merkle root the checkpoints agree with.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vouch/audit/verify.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/json.h"

namespace vouch::audit {
namespace {

constexpr char kOrigin[] = "registry.example/api/v1/audit/log";

std::string Body(int64_t seq, std::string_view actor = "alice") {
  return CanonicalJson(json::object{{"seq", seq},
                                    {"action", "model.created"},
                                    {"actor", std::string(actor)},
                                    {"target", json::object{{"seq", 999}, {"model", "m"}}}})
      .value();
}

std::vector<std::string> Bodies(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(Body(i));
  return out;
}

tlog::Hash RootOf(const std::vector<std::string>& bodies, size_t size) {
  tlog::RightEdge edge;
  for (size_t i = 0; i < size; ++i) edge.Append(tlog::LeafHash(bodies[i]));
  return edge.Root();
}

tlog::Signer NewSigner() { return tlog::GenerateSigner(kOrigin).value(); }

CheckpointSource Checkpoint(const std::vector<std::string>& bodies, size_t size,
                            const tlog::Signer& signer) {
  tlog::Checkpoint c{kOrigin, size, RootOf(bodies, size), {}};
  return {fmt::format("checkpoints/{}", size),
          tlog::SignCheckpoint(c, std::span(&signer, 1)).value()};
}

// The leaf hashes a stored tree holds for these bodies.
LeafHashReader TreeOf(const std::vector<std::string>& bodies) {
  std::vector<tlog::Hash> leaves;
  for (const std::string& b : bodies) leaves.push_back(tlog::LeafHash(b));
  return [leaves](uint64_t first, int count) -> Result<std::vector<tlog::Hash>> {
    std::vector<tlog::Hash> out;
    for (uint64_t i = first; i < leaves.size() && i < first + count; ++i) out.push_back(leaves[i]);
    return out;
  };
}

struct Inputs {
  EngineOptions options;
  std::vector<CheckpointSource> checkpoints;
  std::optional<CheckpointSource> saved;
  LeafHashReader tree;
  bool rows = false;  // feed the body's seq as the stored seq (a store's rows)
};

VerificationReport Verify(const Inputs& run, const std::vector<std::string>& bodies) {
  LogVerifier v(run.options);
  for (const CheckpointSource& c : run.checkpoints) v.AddCheckpoint(c);
  if (run.saved) v.SetSavedCheckpoint(*run.saved);
  if (run.tree) v.SetLeafHashReader(run.tree);
  for (size_t i = 0; i < bodies.size(); ++i) {
    v.AddEvent(run.rows ? static_cast<int64_t>(i + 1) : 0, bodies[i]);
  }
  return v.Finish();
}

std::string Describe(const VerificationReport& r) {
  std::string out;
  for (const Finding& f : r.findings) {
    out += fmt::format("[{} {}] {}\n", FindingKindName(f.kind), f.seq, f.message);
  }
  return out;
}

TEST(LogVerifier, AnIntactLogVerifiesWithItsRootAndEveryCheckpoint) {
  const std::vector<std::string> bodies = Bodies(300);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}},
             .checkpoints = {Checkpoint(bodies, 300, signer), Checkpoint(bodies, 7, signer),
                             Checkpoint(bodies, 256, signer)},
             .tree = TreeOf(bodies)};
  VerificationReport r = Verify(run, bodies);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.events, 300u);
  EXPECT_EQ(r.root, RootOf(bodies, 300));
  EXPECT_EQ(r.checkpoints, 3u);
  EXPECT_EQ(r.checkpoints_ok, 3u);
  EXPECT_EQ(r.latest_checkpoint, 300u);
}

TEST(LogVerifier, AnEmptyLogHasTheEmptyTreeRoot) {
  VerificationReport r = Verify({}, {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.root, tlog::EmptyTreeHash());
}

TEST(LogVerifier, AnAlteredEventIsNamedByTheStoredTreesLeaf) {
  std::vector<std::string> bodies = Bodies(40);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}},
             .checkpoints = {Checkpoint(bodies, 40, signer)},
             .tree = TreeOf(bodies)};
  bodies[16] = Body(17, "mallory");  // canonical, its own seq: only the hashes tell
  VerificationReport r = Verify(run, bodies);
  ASSERT_FALSE(r.ok());
  ASSERT_GE(r.findings.size(), 2u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kAltered);
  EXPECT_EQ(r.findings[0].seq, 17);
  EXPECT_EQ(r.findings[0].message,
            "event 17 altered: its bytes are not the leaf the tree stored at index 16");
  EXPECT_EQ(r.findings[1].kind, FindingKind::kAltered);
  EXPECT_EQ(r.findings[1].seq, 17);
  EXPECT_NE(r.findings[1].message.find("the first event altered is 17"), std::string::npos)
      << r.findings[1].message;
  EXPECT_EQ(r.checkpoints_ok, 0u);
}

TEST(LogVerifier, WithoutAStoredTreeTheCheckpointsBoundTheAlteredEvents) {
  std::vector<std::string> bodies = Bodies(30);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}},
             .checkpoints = {Checkpoint(bodies, 10, signer), Checkpoint(bodies, 20, signer),
                             Checkpoint(bodies, 30, signer)}};
  bodies[14] = Body(15, "mallory");
  VerificationReport r = Verify(run, bodies);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.checkpoints_ok, 1u);
  ASSERT_EQ(r.findings.size(), 2u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kAltered);
  EXPECT_EQ(r.findings[0].seq, 11);
  EXPECT_NE(r.findings[0].message.find("checkpoint checkpoints/20 (size 20"), std::string::npos)
      << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("the change lies in events 11 to 20"), std::string::npos)
      << r.findings[0].message;
}

TEST(LogVerifier, ATreeRewrittenWithTheEventsStillDisagreesWithTheCheckpoint) {
  std::vector<std::string> bodies = Bodies(20);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}},
             .checkpoints = {Checkpoint(bodies, 20, signer)}};
  bodies[4] = Body(5, "mallory");
  run.tree = TreeOf(bodies);
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kAltered);
  EXPECT_NE(r.findings[0].message.find("the stored tree differs too"), std::string::npos);
}

TEST(LogVerifier, AMissingEventIsNamed) {
  std::vector<std::string> bodies = Bodies(12);
  bodies.erase(bodies.begin() + 4);
  VerificationReport r = Verify({}, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kMissing);
  EXPECT_EQ(r.findings[0].seq, 5);
  EXPECT_EQ(r.findings[0].message, "event 5 missing");
}

TEST(LogVerifier, ARunOfMissingEventsIsNamedOnce) {
  std::vector<std::string> bodies = Bodies(12);
  bodies.erase(bodies.begin() + 3, bodies.begin() + 7);
  VerificationReport r = Verify({}, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].message, "events 4 to 7 missing");
}

TEST(LogVerifier, SwappedEventsAreReordered) {
  std::vector<std::string> bodies = Bodies(12);
  std::swap(bodies[5], bodies[6]);
  Inputs run{.options = {.position_name = "line"}};
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kReordered);
  EXPECT_EQ(r.findings[0].seq, 6);
  EXPECT_EQ(r.findings[0].message, "event 6 reordered: it stands at line 7, after event 7");
}

TEST(LogVerifier, ARepeatedEventIsAppendedOutOfOrder) {
  std::vector<std::string> bodies = Bodies(5);
  bodies.push_back(Body(3));
  Inputs run{.options = {.position_name = "line"}};
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kAppendedOutOfOrder);
  EXPECT_EQ(r.findings[0].seq, 3);
}

TEST(LogVerifier, ARowHoldingAnotherEventsBodyIsAppendedOutOfOrder) {
  std::vector<std::string> bodies = Bodies(6);
  bodies[3] = Body(9);  // row 4 says it is event 9
  Inputs run{.rows = true};
  VerificationReport r = Verify(run, bodies);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kAppendedOutOfOrder);
  EXPECT_EQ(r.findings[0].seq, 4);
  EXPECT_EQ(r.findings[0].message, "event 4 holds the body of event 9: appended out of order");
}

TEST(LogVerifier, ALogShorterThanACheckpointIsTruncated) {
  std::vector<std::string> bodies = Bodies(20);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}},
             .checkpoints = {Checkpoint(bodies, 20, signer)}};
  bodies.resize(17);
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kTruncated);
  EXPECT_EQ(r.findings[0].seq, 18);
  EXPECT_NE(r.findings[0].message.find("commits to 20 events, the log holds 17"), std::string::npos)
      << r.findings[0].message;
}

TEST(LogVerifier, ALogShorterThanItsHeadIsTruncated) {
  LogVerifier v({});
  v.SetExpectedCount(5);
  for (int i = 1; i <= 3; ++i) v.AddEvent(i, Body(i));
  VerificationReport r = v.Finish();
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kTruncated);
  EXPECT_EQ(r.findings[0].seq, 4);
}

TEST(LogVerifier, ACheckpointSignedByAnotherKeyNamesTheUnknownKey) {
  const std::vector<std::string> bodies = Bodies(8);
  const tlog::Signer ours = NewSigner();
  const tlog::Signer forger = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(ours)}},
             .checkpoints = {Checkpoint(bodies, 8, forger)}};
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kUnknownKey);
  EXPECT_EQ(r.findings[0].message,
            fmt::format("checkpoint checkpoints/8 is signed by an unknown key: {}+{:08x} (not "
                        "among the published keys)",
                        kOrigin, forger.key_id));
}

TEST(LogVerifier, AChangedRootUnderTheOldSignatureIsAnInvalidSignature) {
  const std::vector<std::string> bodies = Bodies(8);
  const tlog::Signer signer = NewSigner();
  CheckpointSource c = Checkpoint(bodies, 8, signer);
  const std::string old_root = tlog::FormatCheckpoint({kOrigin, 8, RootOf(bodies, 8), {}}).value();
  const std::string new_root = tlog::FormatCheckpoint({kOrigin, 8, RootOf(bodies, 7), {}}).value();
  c.note.replace(0, old_root.size(), new_root);
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(signer)}}, .checkpoints = {c}};
  VerificationReport r = Verify(run, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kSignatureInvalid);
  EXPECT_NE(r.findings[0].message.find("checkpoint checkpoints/8: the signature is invalid"),
            std::string::npos);
}

TEST(LogVerifier, ARotatedKeyVerifiesWithBothKeysAndNamesTheOldOneWhenOnlyTheNewIsTrusted) {
  const std::vector<std::string> bodies = Bodies(10);
  const tlog::Signer old_key = NewSigner();
  const tlog::Signer new_key = NewSigner();
  Inputs run{.options = {.published_keys = {tlog::VerifierOf(old_key), tlog::VerifierOf(new_key)}},
             .checkpoints = {Checkpoint(bodies, 4, old_key), Checkpoint(bodies, 10, new_key)}};
  VerificationReport both = Verify(run, bodies);
  EXPECT_TRUE(both.ok()) << Describe(both);
  EXPECT_EQ(both.checkpoints_ok, 2u);

  run.options.trusted_keys = {tlog::VerifierOf(new_key)};
  VerificationReport only_new = Verify(run, bodies);
  ASSERT_EQ(only_new.findings.size(), 1u) << Describe(only_new);
  EXPECT_EQ(only_new.findings[0].kind, FindingKind::kUnknownKey);
  EXPECT_NE(only_new.findings[0].message.find(fmt::format("{:08x}", old_key.key_id)),
            std::string::npos);
  EXPECT_NE(only_new.findings[0].message.find("trusted keys"), std::string::npos);
  EXPECT_EQ(only_new.checkpoints_ok, 1u);
}

TEST(LogVerifier, ASavedCheckpointTheLogHoldsIsConsistent) {
  const std::vector<std::string> bodies = Bodies(50);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.trusted_keys = {tlog::VerifierOf(signer)}},
             .saved = Checkpoint(bodies, 33, signer)};
  VerificationReport r = Verify(run, bodies);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_TRUE(r.saved_checked);
}

TEST(LogVerifier, ASavedCheckpointOfAnotherHistoryIsInconsistent) {
  std::vector<std::string> other = Bodies(33);
  other[20] = Body(21, "someone else");
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.trusted_keys = {tlog::VerifierOf(signer)}},
             .saved = Checkpoint(other, 33, signer)};
  VerificationReport r = Verify(run, Bodies(50));
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kInconsistent);
  EXPECT_NE(r.findings[0].message.find("the saved checkpoint checkpoints/33 (size 33"),
            std::string::npos)
      << r.findings[0].message;
  EXPECT_FALSE(r.saved_checked);
}

TEST(LogVerifier, ASavedCheckpointLargerThanTheLogMeansItWasTruncated) {
  const std::vector<std::string> bodies = Bodies(50);
  const tlog::Signer signer = NewSigner();
  Inputs run{.options = {.trusted_keys = {tlog::VerifierOf(signer)}},
             .saved = Checkpoint(bodies, 50, signer)};
  VerificationReport r = Verify(run, Bodies(45));
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kTruncated);
  EXPECT_EQ(r.findings[0].seq, 46);
}

TEST(LogVerifier, ABodyThatIsNotCanonicalIsNamed) {
  std::vector<std::string> bodies = Bodies(5);
  bodies[2] = R"({"seq":3, "action":"x"})";
  VerificationReport r = Verify({}, bodies);
  ASSERT_EQ(r.findings.size(), 1u) << Describe(r);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kNotCanonical);
  EXPECT_EQ(r.findings[0].seq, 3);
}

TEST(LogVerifier, TheHashPassAloneSkipsTheCanonicalCheck) {
  std::vector<std::string> bodies = Bodies(5);
  bodies[2] = R"({"seq":3, "action":"x"})";
  Inputs run{.options = {.check_canonical = false}};
  EXPECT_TRUE(Verify(run, bodies).ok());
}

TEST(LogVerifier, FindingsPastTheLimitAreCounted) {
  std::vector<std::string> bodies;
  for (int i = 1; i <= 20; ++i) bodies.push_back(Body(i * 3));
  Inputs run{.options = {.max_findings = 4}};
  VerificationReport r = Verify(run, bodies);
  EXPECT_EQ(r.findings.size(), 4u);
  EXPECT_GT(r.findings_dropped, 0u);
  EXPECT_FALSE(r.ok());
}

TEST(ScanSeq, ReadsTheTopLevelSeqOnly) {
  EXPECT_EQ(ScanSeq(Body(42)), 42);
  EXPECT_EQ(ScanSeq(R"({"a":{"seq":5},"b":"\"seq\":7","seq":9})"), 9);
  EXPECT_EQ(ScanSeq(R"({"a":[{"seq":5}],"seq":-2})"), -2);
  EXPECT_EQ(ScanSeq(R"({"a":{"seq":5}})"), std::nullopt);
  EXPECT_EQ(ScanSeq(R"({"seq":1.5})"), std::nullopt);
  EXPECT_EQ(ScanSeq(R"({"seq":"1"})"), std::nullopt);
  EXPECT_EQ(ScanSeq(R"([{"seq":1}])"), std::nullopt);
  EXPECT_EQ(ScanSeq(R"({"seq":1)"), std::nullopt);
  EXPECT_EQ(ScanSeq(""), std::nullopt);
}

TEST(ScanSeq, EndsAStringAtTheFirstQuoteNotEscaped) {
  // An escaped backslash before the closing quote: the string ends there.
  EXPECT_EQ(ScanSeq(R"({"a":"x\\","seq":3})"), 3);
  // Escaped quotes (one backslash, three) inside a string hide a "seq" key.
  EXPECT_EQ(ScanSeq(R"({"a":"\"seq\":4","seq":5})"), 5);
  EXPECT_EQ(ScanSeq(R"({"a":"\\\"seq\":4","seq":6})"), 6);
  // A key that is nothing but backslashes, and a string never closed.
  EXPECT_EQ(ScanSeq(R"({"\\\\":1,"seq":7})"), 7);
  EXPECT_EQ(ScanSeq(R"({"a":"\"})"), std::nullopt);
  EXPECT_EQ(ScanSeq(R"({"a":"\\\"})"), std::nullopt);
}

}  // namespace
}  // namespace vouch::audit
