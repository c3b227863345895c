// The audit log's checkpoints and signing keys in the native API (issue 14): the C2SP tlog-tiles
// `checkpoint` (text), the checkpoints as JSON, the public keys, and the admins' on-demand
// checkpoint and key rotation. Who may make and rotate is CheckpointService's to decide.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/service/checkpoints.h"
#include "vouch/util/crypto.h"

namespace vouch::api::native {
namespace {

using service::CheckpointService;
using service::CheckpointView;
using service::SigningKeyView;

json::object CheckpointJson(const CheckpointView& v) {
  return json::object{{"id", v.id},
                      {"size", static_cast<int64_t>(v.size)},
                      {"root", Base64Encode(std::string_view(
                                   reinterpret_cast<const char*>(v.root.data()), v.root.size()))},
                      {"key_id", v.key_id},
                      {"checkpoint", v.note},
                      {"creation_timestamp", v.created_ms}};
}

json::object KeyJson(const SigningKeyView& k) {
  json::object o{{"name", k.name},
                 {"key_id", k.key_id},
                 {"verifier_key", k.verifier_key},
                 {"public_key", k.public_key},
                 {"signing", k.signing},
                 {"creation_timestamp", k.created_ms}};
  if (k.retired_ms) o["retired_timestamp"] = *k.retired_ms;
  return o;
}

HttpResponse Text(std::string body) {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

// These POSTs take no fields: no body, or an empty object.
Status NoFields(const Call& c) {
  if (c.request.body.empty()) return OkStatus();
  return Body(c, {}).status();
}

Result<HttpResponse> TlogCheckpoint(CheckpointService& s, const Call&) {
  VOUCH_ASSIGN_OR_RETURN(CheckpointView v, s.Latest());
  return Text(v.note);
}

Result<HttpResponse> ListCheckpoints(CheckpointService& s, const Call& c) {
  if (const auto* v = c.query.First("size")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t size, ParseInt("size", *v));
    if (size < 1) return InvalidArgument("size must be 1 or more");
    VOUCH_ASSIGN_OR_RETURN(CheckpointView one, s.AtSize(static_cast<uint64_t>(size)));
    json::array items;
    items.push_back(CheckpointJson(one));
    return Ok({{"checkpoints", std::move(items)}});
  }
  int limit = 100;
  if (const auto* v = c.query.First("limit")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t n, ParseInt("limit", *v));
    if (n < 1 || n > 1000) return InvalidArgument("limit must be between 1 and 1000");
    limit = static_cast<int>(n);
  }
  int64_t after = 0;
  if (const auto* v = c.query.First("page_token")) {
    VOUCH_ASSIGN_OR_RETURN(after, ParseInt("page_token", *v));
    if (after < 0) return InvalidArgument("page_token must be one a previous page gave");
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<CheckpointView> page, s.List(after, limit));
  json::array items;
  for (const auto& v : page) items.push_back(CheckpointJson(v));
  json::object out{{"checkpoints", std::move(items)}};
  if (static_cast<int>(page.size()) == limit) {
    out["next_page_token"] = std::to_string(page.back().id);
  }
  return Ok(out);
}

Result<HttpResponse> ListKeys(CheckpointService& s, const Call& c) {
  bool text = false;
  if (const auto* v = c.query.First("format")) {
    if (*v != "json" && *v != "text") return InvalidArgument("format must be json or text");
    text = *v == "text";
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<SigningKeyView> keys, s.PublicKeys());
  if (text) {
    std::string body;
    for (const auto& k : keys) body += k.verifier_key + "\n";
    return Text(std::move(body));
  }
  json::array items;
  for (const auto& k : keys) items.push_back(KeyJson(k));
  return Ok({{"origin", s.Origin()}, {"keys", std::move(items)}});
}

Result<HttpResponse> MakeCheckpoint(CheckpointService& s, const Call& c) {
  VOUCH_TRY(NoFields(c));
  VOUCH_ASSIGN_OR_RETURN(CheckpointView v, s.MakeFor(c.ctx));
  return Ok(CheckpointJson(v));
}

Result<HttpResponse> RotateKey(CheckpointService& s, const Call& c) {
  VOUCH_TRY(NoFields(c));
  VOUCH_ASSIGN_OR_RETURN(service::KeyRotation r, s.RotateKey(c.ctx));
  return Ok({{"key", KeyJson(r.new_key)},
             {"retired_key", KeyJson(r.old_key)},
             {"checkpoint", CheckpointJson(r.checkpoint)}});
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(CheckpointService&, const Call&);
};

// Paths below kPrefix. Checkpoints and public keys are public: verifying the log needs nothing
// else. Making a checkpoint on demand and rotating the key are the admins' (the service checks).
constexpr Endpoint kEndpoints[] = {
    {"GET", "/audit/log/checkpoint", Access::kPublic, TlogCheckpoint},
    {"GET", "/audit/checkpoints", Access::kPublic, ListCheckpoints},
    {"POST", "/audit/checkpoints", Access::kAdmin, MakeCheckpoint},
    {"GET", "/audit/keys", Access::kPublic, ListKeys},
    {"POST", "/audit/keys/rotate", Access::kAdmin, RotateKey},
};

}  // namespace

void RegisterCheckpointRoutes(Router& router, CheckpointService& checkpoints) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&checkpoints, handler](const Call& c) { return handler(checkpoints, c); });
  }
}

}  // namespace vouch::api::native
