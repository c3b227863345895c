#include "vouch/service/auth_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vouch/audit/audit_log.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {
constexpr size_t kMaxPendingAddresses = 10000;
const std::string kOverflowAddress = "(other addresses)";
}  // namespace

std::string AuthService::NewToken() { return "vch_" + Base64UrlEncode(RandomBytes(32)); }

Result<BootstrapResult> AuthService::Bootstrap(const std::string& given_token) {
  BootstrapResult result;
  RequestContext ctx = SystemContext(clock_);
  VOUCH_TRY(store_.Write([&](store::Tx& tx) -> Status {
    result = {};
    VOUCH_ASSIGN_OR_RETURN(int64_t principals, tx.CountPrincipals());
    if (principals > 0) return OkStatus();
    TimeMs now = ctx.Now();
    Principal admin{.name = "admin", .kind = PrincipalKind::kUser, .is_admin = true};
    VOUCH_TRY(tx.InsertPrincipal(admin, now));
    std::string token = given_token.empty() ? NewToken() : given_token;
    store::TokenRecord record{.principal_id = admin.id,
                              .name = "bootstrap",
                              .token_hash = Sha256Hex(token),
                              .created_ms = now};
    VOUCH_TRY(tx.InsertToken(record));
    AuditEvent e = EventFor(ctx, "principal.created");
    e.target = {{"type", "principal"}, {"principal", admin.name}, {"id", admin.id}};
    e.before = nullptr;
    e.after = {{"name", admin.name},
               {"kind", "user"},
               {"is_admin", true},
               {"token",
                {{"name", "bootstrap"},
                 {"source", given_token.empty() ? "generated" : "VOUCH_BOOTSTRAP_TOKEN"}}}};
    e.comment = "bootstrap on an empty store";
    VOUCH_TRY(audit::Append(tx, e, now).status());
    result.created = true;
    if (given_token.empty()) result.token = token;
    return OkStatus();
  }));
  return result;
}

Result<Principal> AuthService::AuthenticateBearer(std::string_view token) {
  if (token.empty()) return Unauthenticated("missing bearer token");
  std::string hash = Sha256Hex(token);
  std::optional<std::pair<store::TokenRecord, Principal>> found;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(found, tx.FindToken(hash));
    return OkStatus();
  }));
  // The stored hash is compared in constant time, although the lookup by hash already matched.
  if (!found || !ConstantTimeEquals(found->first.token_hash, hash)) {
    return Unauthenticated("invalid token");
  }
  const auto& [record, principal] = *found;
  TimeMs now = clock_.NowMs();
  if (record.revoked_ms) return Unauthenticated("token revoked");
  if (record.expires_ms && *record.expires_ms <= now) return Unauthenticated("token expired");
  if (principal.disabled) return Unauthenticated("principal disabled");
  return principal;
}

void AuthService::RecordDenial(const RequestContext& ctx, std::string_view reason) {
  if (!ctx.principal) {
    std::lock_guard lock(mu_);
    // Past the cap, further addresses share one bucket, so a flood from many addresses cannot grow
    // memory without bound; their count is still recorded.
    const std::string& key =
        pending_.size() < kMaxPendingAddresses || pending_.contains(ctx.address) ? ctx.address
                                                                                 : kOverflowAddress;
    Pending& p = pending_[key];
    if (p.count == 0) p.window_start = clock_.NowMs();
    ++p.count;
    p.last_reason = std::string(reason);
    p.user_agent = ctx.user_agent;
    return;
  }
  AuditEvent e = EventFor(ctx, "access.denied");
  e.outcome = Outcome::kDenied;
  e.reason = std::string(reason);
  e.target = {{"type", "request"}};
  Status s = store_.Write([&](store::Tx& tx) { return audit::Append(tx, e, ctx.Now()).status(); });
  if (!s.ok()) spdlog::error("could not record a denial: {}", s.ToString());
}

void AuthService::FlushDenials(bool all) {
  std::map<std::string, Pending> closed;
  TimeMs now = clock_.NowMs();
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || now - it->second.window_start >= denial_window_ms_) {
        closed.insert(pending_.extract(it++));
      } else {
        ++it;
      }
    }
  }
  if (closed.empty()) return;
  RequestContext ctx;
  ctx.clock = &clock_;
  Status s = store_.Write([&](store::Tx& tx) -> Status {
    for (const auto& [address, p] : closed) {
      ctx.address = address;
      ctx.user_agent = p.user_agent;
      AuditEvent e = EventFor(ctx, "access.denied");
      e.outcome = Outcome::kDenied;
      e.reason = fmt::format("unauthenticated: {}", p.last_reason);
      e.count = p.count;
      e.target = {{"type", "request"}};
      e.after = {{"window_start", FormatRfc3339Ms(p.window_start)}, {"count", p.count}};
      VOUCH_TRY(audit::Append(tx, e, now).status());
    }
    return OkStatus();
  });
  if (!s.ok()) spdlog::error("could not record aggregated denials: {}", s.ToString());
}

}  // namespace vouch::service
