// `vouch audit verify --server` through RunCli against a scripted server that serves a small log as
// vouch serves it (checkpoint, keys, entry bundles, hash tiles, consistency proofs): an intact log
// verifies, and an entry, a leaf tile, a higher tile, a signature or a proof changed on purpose is
// named by the verification engine.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/session.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/time.h"

namespace vouch::cli {
namespace {

using store::testing::TempDir;

constexpr std::string_view kOrigin = "vouch.test/log";
constexpr std::string_view kLog = "/api/v1/audit/log/";
constexpr int kEvents = 600;  // tiles 0/000, 0/001, 0/002.p/88 and 1/000.p/2

std::string EventBody(int seq) {
  return fmt::format(R"({{"action":"model.created","seq":{}}})", seq);
}

// Answers GETs from a map of targets to bodies (404 for any other); records every target asked.
class FakeLogServer final : public HttpTransport {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override {
    asked.push_back(request.target);
    if (unreachable) return Unavailable("connection refused");
    if (auto it = refused.find(request.target); it != refused.end()) {
      return HttpResponse{403, R"({"error":{"code":"PERMISSION_DENIED","message":"no"}})"};
    }
    auto it = bodies.find(request.target);
    if (it == bodies.end()) return HttpResponse{404, R"({"error":{"code":"NOT_FOUND"}})"};
    return HttpResponse{200, it->second};
  }

  std::map<std::string, std::string> bodies;
  std::map<std::string, bool> refused;
  bool unreachable = false;
  std::vector<std::string> asked;
};

class VerifyServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = *tlog::GenerateSigner(kOrigin);
    for (int seq = 1; seq <= kEvents; ++seq) leaves_.push_back(EventBody(seq));
    server_.bodies[std::string(kLog) + "checkpoint"] = Checkpoint(kEvents, signer_);
    server_.bodies["/api/v1/audit/keys?format=text"] =
        tlog::FormatVerifierKey(tlog::VerifierOf(signer_)) + "\n";
    for (int first = 0; first < kEvents; first += tlog::kTileWidth) {
      const int width = std::min(tlog::kTileWidth, kEvents - first);
      std::vector<std::string> bundle(leaves_.begin() + first, leaves_.begin() + first + width);
      server_.bodies[Path(tlog::EntryBundlePath(first / tlog::kTileWidth, width))] =
          *tlog::EncodeEntryBundle(bundle);
    }
    for (auto& [tile, data] : tlog::BuildTiles(leaves_)) {
      server_.bodies[Path(tlog::TilePath(tile))] = std::move(data);
    }
  }

  static std::string Path(std::string_view tile_path) {
    return std::string(kLog) + std::string(tile_path);
  }

  // Every stored hash of the first `size` leaves, [level][index].
  std::vector<std::vector<tlog::Hash>> Stored(uint64_t size) const {
    std::vector<std::vector<tlog::Hash>> out;
    tlog::RightEdge edge;
    for (uint64_t i = 0; i < size; ++i) {
      for (const tlog::StoredHash& h : edge.Append(tlog::LeafHash(leaves_[i]))) {
        if (out.size() <= static_cast<size_t>(h.level)) out.resize(h.level + 1);
        out[h.level].push_back(h.hash);
      }
    }
    return out;
  }

  tlog::Hash Root(uint64_t size) const {
    tlog::RightEdge edge;
    for (uint64_t i = 0; i < size; ++i) edge.Append(tlog::LeafHash(leaves_[i]));
    return edge.Root();
  }

  std::string Checkpoint(uint64_t size, const tlog::Signer& by) const {
    const tlog::Signer signers[] = {by};
    return *tlog::SignCheckpoint({std::string(kOrigin), size, Root(size), {}}, signers);
  }

  // Serves the consistency proof from `from` to the log's size, as the proof route answers it.
  void ServeConsistencyProof(uint64_t from) {
    const std::vector<std::vector<tlog::Hash>> stored = Stored(kEvents);
    const tlog::HashReader read = [&](int level, uint64_t index) -> Result<tlog::Hash> {
      return stored[level][index];
    };
    Result<std::vector<tlog::Hash>> proof = tlog::ConsistencyProof(from, kEvents, read);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    json::array hashes;
    for (const tlog::Hash& h : *proof) {
      hashes.push_back(json::string(Base64Encode(tlog::HashBytes(h))));
    }
    server_.bodies[fmt::format("/api/v1/audit/proof/consistency?from={}&to={}", from, kEvents)] =
        SerializeJson(json::object{{"hashes", std::move(hashes)}});
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::path(dir_.path()) / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  int Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "vouch", "--token", "vch_t", "audit", "verify", "--server", "http://log.test:5000"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    const FakeClock clock(0);
    out_.str("");
    err_.str("");
    TransportFactory factory = [this](const ClientOptions&) -> std::unique_ptr<HttpTransport> {
      return std::make_unique<Forward>(server_);
    };
    return RunCli(static_cast<int>(argv.size()), argv.data(), factory, clock, out_, err_);
  }

  std::string Output() const { return out_.str() + err_.str(); }

  class Forward final : public HttpTransport {
   public:
    explicit Forward(HttpTransport& to) : to_(to) {}
    Result<HttpResponse> Send(const HttpRequest& r) override { return to_.Send(r); }

   private:
    HttpTransport& to_;
  };

  tlog::Signer signer_;
  std::vector<std::string> leaves_;
  FakeLogServer server_;
  TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(VerifyServerTest, AnIntactLogVerifiesReadingEachBundleAndTileOnce) {
  ASSERT_EQ(Verify(), kExitOk) << Output();
  EXPECT_TRUE(out_.str().starts_with(
      fmt::format("ok: {} events, Merkle root {}, 1 checkpoints verified (the latest at size {})\n",
                  kEvents, HexEncode(tlog::HashBytes(Root(kEvents))), kEvents)))
      << out_.str();
  EXPECT_NE(out_.str().find(
                fmt::format("log intact: the checkpoint of {} signed by {}+", kOrigin, kOrigin)),
            std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("4 hash tile(s) checked against the entries"), std::string::npos)
      << out_.str();
  // Each bundle and tile once, one at a time: 2 + 3 bundles + 3 leaf tiles + 1 tile above.
  std::map<std::string, int> times;
  for (const std::string& target : server_.asked) ++times[target];
  EXPECT_EQ(server_.asked.size(), 9u);
  for (const auto& [target, n] : times) EXPECT_EQ(n, 1) << target;
  EXPECT_EQ(times.count(Path("tile/1/000.p/2")), 1u);
}

TEST_F(VerifyServerTest, AnEntryAlteredOnTheServerIsNamedBySeq) {
  std::vector<std::string> bundle(leaves_.begin() + 256, leaves_.begin() + 512);
  bundle[300 - 257] = R"({"action":"model.deleted","seq":300})";  // canonical, its own seq
  server_.bodies[Path("tile/entries/001")] = *tlog::EncodeEntryBundle(bundle);
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(out_.str().find("event 300 altered: its bytes are not the leaf the tree stored at "
                            "index 299"),
            std::string::npos)
      << Output();
  EXPECT_NE(err_.str().find("does not verify"), std::string::npos) << err_.str();
  EXPECT_NE(
      Output().find("checkpoint served at /api/v1/audit/log/checkpoint (size 600, signed by "),
      std::string::npos)
      << Output();
  EXPECT_NE(Output().find("the first event altered is 300"), std::string::npos) << Output();
}

TEST_F(VerifyServerTest, ALeafTileThatDiffersNamesTheEvent) {
  std::string& tile = server_.bodies[Path("tile/0/000")];
  tile[5 * tlog::kHashBytes] ^= 1;
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(out_.str().find("event 6 altered"), std::string::npos) << Output();
}

TEST_F(VerifyServerTest, AHigherTileThatDiffersFromTheEntriesIsNamed) {
  std::string& tile = server_.bodies[Path("tile/1/000.p/2")];
  ASSERT_EQ(tile.size(), 2 * tlog::kHashBytes);
  tile[tlog::kHashBytes] ^= 1;
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(out_.str().find("hash tile tile/1/000.p/2: its hash 1 (events 257 to 512) is not the "
                            "hash of the served entries"),
            std::string::npos)
      << Output();
  // A tile the server does not serve is named too.
  server_.bodies.erase(Path("tile/1/000.p/2"));
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(out_.str().find("hash tile tile/1/000.p/2 cannot be read"), std::string::npos)
      << Output();
}

TEST_F(VerifyServerTest, ABundleShortOfItsWidthNamesTheMissingEvent) {
  std::vector<std::string> bundle(leaves_.begin(), leaves_.begin() + 255);
  server_.bodies[Path("tile/entries/000")] = *tlog::EncodeEntryBundle(bundle);
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(out_.str().find("event 256 missing"), std::string::npos) << Output();
}

TEST_F(VerifyServerTest, ACheckpointByAKeyNotGivenIsAnUnknownKey) {
  const tlog::Signer other = *tlog::GenerateSigner(kOrigin);
  const std::string key =
      WriteFile("key.txt", "# mine\n" + tlog::FormatVerifierKey(tlog::VerifierOf(other)) + "\n");
  EXPECT_EQ(Verify({"--key", key}), kExitRefused);
  EXPECT_NE(Output().find("checkpoint served at /api/v1/audit/log/checkpoint is signed by an "
                          "unknown key"),
            std::string::npos)
      << Output();
  // The key that did sign it, given: intact.
  const std::string right = tlog::FormatVerifierKey(tlog::VerifierOf(signer_));
  EXPECT_EQ(Verify({"--key", right}), kExitOk) << Output();
  EXPECT_NE(out_.str().find("checked against the key(s) given by --key"), std::string::npos);
  // A key file with no key in it is a usage error, never a silent fall back to published keys.
  EXPECT_EQ(Verify({"--key", WriteFile("empty.txt", "# none\n")}), kExitUsage) << Output();
  EXPECT_NE(err_.str().find("holds no key"), std::string::npos) << err_.str();
}

TEST_F(VerifyServerTest, ASavedCheckpointIsCheckedFromTheEntriesAndByTheServersProof) {
  const std::string saved = WriteFile("saved.checkpoint", Checkpoint(300, signer_));
  ServeConsistencyProof(300);
  ASSERT_EQ(Verify({"--checkpoint", saved}), kExitOk) << Output();
  EXPECT_NE(out_.str().find("consistent with the saved checkpoint"), std::string::npos);
  EXPECT_NE(out_.str().find("the server's consistency proof from 300 verifies"), std::string::npos)
      << out_.str();

  // A proof that does not lead to both roots.
  const std::string target = "/api/v1/audit/proof/consistency?from=300&to=600";
  const std::string good = server_.bodies[target];
  json::object proof = *ParseJsonObject(good);
  json::array& hashes = proof["hashes"].as_array();
  ASSERT_FALSE(hashes.empty());
  std::string first = *Base64Decode(hashes[0].as_string());
  first[0] ^= 1;
  hashes[0] = json::string(Base64Encode(first));
  server_.bodies[target] = SerializeJson(proof);
  EXPECT_EQ(Verify({"--checkpoint", saved}), kExitRefused);
  EXPECT_NE(out_.str().find("checkpoint inconsistent: the server's proof from 300 to 600 does not "
                            "verify"),
            std::string::npos)
      << Output();
}

TEST_F(VerifyServerTest, ASavedCheckpointBeyondTheLogIsTruncation) {
  leaves_.push_back(EventBody(kEvents + 1));
  const std::string saved = WriteFile("saved.checkpoint", Checkpoint(kEvents + 1, signer_));
  EXPECT_EQ(Verify({"--checkpoint", saved}), kExitRefused);
  EXPECT_NE(out_.str().find("log truncated: the saved checkpoint"), std::string::npos) << Output();
  EXPECT_EQ(Verify({"--checkpoint", WriteFile("none", "") + ".missing"}), kExitUsage);
}

TEST_F(VerifyServerTest, ARefusedBundleIsExitOneAndNoServerIsExitThree) {
  server_.refused[Path("tile/entries/001")] = true;
  EXPECT_EQ(Verify(), kExitRefused);
  EXPECT_NE(err_.str().find("tile/entries/001"), std::string::npos) << err_.str();
  server_.refused.clear();
  server_.unreachable = true;
  EXPECT_EQ(Verify(), kExitUnreachable);
  EXPECT_EQ(server_.asked.back(), Path("checkpoint"));
}

}  // namespace
}  // namespace vouch::cli
