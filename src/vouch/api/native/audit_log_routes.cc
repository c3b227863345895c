// The audit log's Merkle tree on the native door (issue 14; docs/api.md "The Merkle log"):
// C2SP tlog-tiles hash tiles and entry bundles under /api/v1/audit/log/, read by generic tile
// clients (raw bytes, no JSON envelope), and the inclusion and consistency proofs as JSON. The
// service (audit_proofs.h) decides who may read what.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/service/audit_proofs.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"

namespace vouch::api::native {
namespace {

using service::AuditProofs;

// A full tile or bundle never changes; a partial one is replaced by a wider one as the log grows.
HttpResponse TileBytes(std::string data, int width, bool is_public) {
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.body = std::move(data);
  r.headers.emplace_back("Cache-Control", width == tlog::kTileWidth
                                              ? (is_public ? "public, max-age=31536000, immutable"
                                                           : "private, max-age=31536000, immutable")
                                              : "no-cache");
  return r;
}

Result<tlog::TileAddress> TileAddressOf(std::string_view path) {
  Result<tlog::TileAddress> a = tlog::ParseTilePath(path);
  if (!a.ok()) {
    return InvalidArgument(
        fmt::format("{} is not a tlog-tiles path: {}", path, a.status().message()));
  }
  return a;
}

Result<HttpResponse> GetTile(AuditProofs& p, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(
      tlog::TileAddress a,
      TileAddressOf(fmt::format("tile/{}/{}", c.path.at("level"), c.path.at("index"))));
  VOUCH_ASSIGN_OR_RETURN(std::string data, p.Tile(a.tile));
  return TileBytes(std::move(data), a.tile.width, true);
}

Result<HttpResponse> GetEntries(AuditProofs& p, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(tlog::TileAddress a,
                         TileAddressOf(fmt::format("tile/entries/{}", c.path.at("index"))));
  VOUCH_ASSIGN_OR_RETURN(std::string data, p.EntryBundle(c.ctx, a.tile.index, a.tile.width));
  return TileBytes(std::move(data), a.tile.width, false);
}

// A non-negative integer query parameter, when present.
Result<std::optional<uint64_t>> SizeParam(const Call& c, std::string_view name) {
  const std::string* v = c.query.First(name);
  if (v == nullptr) return std::optional<uint64_t>();
  VOUCH_ASSIGN_OR_RETURN(int64_t n, ParseInt(name, *v));
  if (n < 0) return InvalidArgument(fmt::format("{} must not be negative, got {}", name, n));
  return std::optional<uint64_t>(static_cast<uint64_t>(n));
}

json::array HashesJson(const std::vector<tlog::Hash>& hashes) {
  json::array out;
  for (const tlog::Hash& h : hashes) out.emplace_back(Base64Encode(tlog::HashBytes(h)));
  return out;
}

Result<HttpResponse> GetInclusion(AuditProofs& p, const Call& c) {
  const std::string* seq_text = c.query.First("seq");
  if (seq_text == nullptr) return InvalidArgument("seq is required: the event's sequence number");
  VOUCH_ASSIGN_OR_RETURN(int64_t seq, ParseInt("seq", *seq_text));
  VOUCH_ASSIGN_OR_RETURN(std::optional<uint64_t> size, SizeParam(c, "size"));
  const std::string* model = c.query.First("model");
  VOUCH_ASSIGN_OR_RETURN(service::InclusionProofView v,
                         p.Inclusion(c.ctx, seq, size, model ? *model : std::string()));
  return Ok({{"seq", v.seq},
             {"index", v.index},
             {"size", v.size},
             {"root", Base64Encode(tlog::HashBytes(v.root))},
             {"hashes", HashesJson(v.hashes)},
             {"checkpoint", v.checkpoint},
             {"event", v.event}});
}

Result<HttpResponse> GetConsistency(AuditProofs& p, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<uint64_t> from, SizeParam(c, "from"));
  if (!from) return InvalidArgument("from is required: the older tree size");
  VOUCH_ASSIGN_OR_RETURN(std::optional<uint64_t> to, SizeParam(c, "to"));
  VOUCH_ASSIGN_OR_RETURN(service::ConsistencyProofView v, p.Consistency(*from, to));
  return Ok({{"from", v.from},
             {"to", v.to},
             {"from_root", Base64Encode(tlog::HashBytes(v.from_root))},
             {"to_root", Base64Encode(tlog::HashBytes(v.to_root))},
             {"hashes", HashesJson(v.hashes)},
             {"checkpoint", v.checkpoint}});
}

using ProofHandler = Result<HttpResponse> (*)(AuditProofs&, const Call&);

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  ProofHandler handler;
};

// Paths below kPrefix. Hash tiles and the consistency proof are public (hashes only); entry
// bundles are whole events (admins and auditors: the service lets auditors through, so the
// declaration says admin, the level a plain principal needs); an inclusion proof carries its event
// (read access to it, as GET /audit: the service checks).
constexpr Endpoint kEndpoints[] = {
    {"GET", "/audit/log/tile/entries/{index...}", Access::kAdmin, GetEntries},
    {"GET", "/audit/log/tile/{level}/{index...}", Access::kPublic, GetTile},
    {"GET", "/audit/proof/inclusion", Access::kAuthenticated, GetInclusion},
    {"GET", "/audit/proof/consistency", Access::kPublic, GetConsistency},
};

}  // namespace

void RegisterAuditLogRoutes(Router& router, AuditProofs& proofs) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&proofs, handler](const Call& c) { return handler(proofs, c); });
  }
}

}  // namespace vouch::api::native
