#include "vouch/service/auth_service.h"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "vouch/audit/actions.h"
#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/service/events.h"
#include "vouch/util/crypto.h"
#include "vouch/util/text.h"

namespace vouch::service {
namespace {
constexpr size_t kMaxPendingKeys = 10000;
constexpr size_t kMaxTracked = 100000;  // throttle entries, cache entries
constexpr TimeMs kTouchEveryMs = 60'000;
constexpr size_t kMaxAttempted = 64;
constexpr TimeMs kFirstBackoffMs = 1000;
// How long a (username, address) that signed in stays exempt from the username's and the
// address's ceilings.
constexpr TimeMs kSignedInMemoryMs = 30LL * 24 * 3600 * 1000;
const std::string kOverflowAddress = "(other addresses)";
const std::string kInvalidCredentials = "invalid username or password";

bool SchemeIs(std::string_view header, std::string_view scheme) {
  return header.size() > scheme.size() && header[scheme.size()] == ' ' &&
         std::equal(scheme.begin(), scheme.end(), header.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

class AuthService::HashSlot {
 public:
  explicit HashSlot(AuthService& a) : a_(a) {
    std::unique_lock lock(a_.hash_mu_);
    a_.hash_cv_.wait(lock, [&] { return a_.hashing_ < std::max(1, a_.options_.hash_concurrency); });
    ++a_.hashing_;
  }
  ~HashSlot() {
    {
      std::lock_guard lock(a_.hash_mu_);
      --a_.hashing_;
    }
    a_.hash_cv_.notify_one();
  }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;

 private:
  AuthService& a_;
};

AuthService::AuthService(store::Store& store, const Clock& clock, AuthOptions options)
    : store_(store),
      executor_(store),
      clock_(clock),
      options_(options),
      cache_key_(RandomBytes(32)),
      attempt_key_(RandomBytes(32)) {
  if (sodium_init() < 0) std::abort();  // only without an entropy source
}

void AuthService::SetAttemptKey(std::string key) {
  std::lock_guard lock(mu_);
  attempt_key_ = std::move(key);
}

std::string AuthService::AttemptedUser(std::string_view username) {
  std::optional<Principal> known;
  Status s = store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(known, tx.FindPrincipal(username));
    return OkStatus();
  });
  if (s.ok() && known) return SanitizeUtf8(known->name, kMaxAttempted);
  // What was typed may be a password or a token in the wrong field: never keep it, only a keyed
  // hash that tells repeated tries of one name apart.
  std::string mac;
  {
    std::lock_guard lock(mu_);
    mac = HmacSha256(attempt_key_, username);
  }
  return fmt::format("(unknown user {})", HexEncode(std::string_view(mac).substr(0, 8)));
}

std::string AuthService::NewToken() { return "vch_" + Base64UrlEncode(RandomBytes(32)); }

Result<std::string> AuthService::HashPassword(std::string_view password) {
  VOUCH_TRY(ValidatePassword(password));
  char out[crypto_pwhash_STRBYTES];
  HashSlot slot(*this);
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return ResourceExhausted("not enough memory to hash the password; retry");
  }
  return std::string(out);
}

bool AuthService::VerifyPassword(std::string_view hash, std::string_view password) {
  std::string h(hash);  // crypto_pwhash_str_verify wants a NUL-terminated string
  HashSlot slot(*this);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

Result<BootstrapResult> AuthService::Bootstrap(const std::string& given_token) {
  BootstrapResult result;
  RequestContext ctx = SystemContext(clock_);
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    result = {};
    VOUCH_ASSIGN_OR_RETURN(int64_t principals, tx.CountPrincipals());
    if (principals > 0) return change.Unchanged();
    TimeMs now = ctx.Now();
    Principal admin{.name = "admin",
                    .kind = PrincipalKind::kUser,
                    .is_admin = true,
                    .display_name = "Administrator"};
    VOUCH_TRY(tx.InsertPrincipal(admin, now));
    std::string token = given_token.empty() ? NewToken() : given_token;
    store::TokenRecord record{.principal_id = admin.id,
                              .name = "bootstrap",
                              .token_hash = Sha256Hex(token),
                              .created_ms = now};
    VOUCH_TRY(tx.InsertToken(record));
    AuditEvent e = NewEvent(ctx, audit::Action::kPrincipalCreated);
    e.target = PrincipalTarget(admin);
    e.before = nullptr;
    e.after = {{"name", admin.name},
               {"kind", "user"},
               {"is_admin", true},
               {"token",
                {{"name", "bootstrap"},
                 {"source", given_token.empty() ? "generated" : "VOUCH_BOOTSTRAP_TOKEN"}}}};
    e.comment = "bootstrap on an empty store";
    VOUCH_TRY(change.Record(std::move(e)));
    result.created = true;
    if (given_token.empty()) result.token = token;
    return OkStatus();
  }));
  return result;
}

Status AuthService::LoadMembership(store::Tx& tx, Principal& p) {
  VOUCH_ASSIGN_OR_RETURN(p.roles, tx.EffectiveRoles(p.id));
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.GroupsOf(p.id));
  p.group_ids.clear();
  for (const auto& g : groups) p.group_ids.push_back(g.id);
  return OkStatus();
}

std::optional<AuthService::Cached> AuthService::FromCache(
    const std::unordered_map<std::string, Cached>& cache, const std::string& key,
    TimeMs now) const {
  std::shared_lock lock(cache_mu_);
  auto it = cache.find(key);
  if (it == cache.end() || now - it->second.loaded_ms >= options_.cache_ttl_ms ||
      now < it->second.loaded_ms) {
    return std::nullopt;
  }
  return it->second;
}

void AuthService::Invalidate() {
  std::unique_lock lock(cache_mu_);
  token_cache_.clear();
  password_cache_.clear();
}

void AuthService::Touch(int64_t token_id, TimeMs now) {
  {
    std::lock_guard lock(mu_);
    TimeMs& last = touched_[token_id];
    if (last != 0 && now - last < kTouchEveryMs) return;
    last = now;
    if (touched_.size() > kMaxTracked) touched_.clear();
  }
  // Bookkeeping, not a change the log covers: a last-use stamp is not audited.
  Status s = executor_.Bookkeep([&](store::Tx& tx) { return tx.TouchToken(token_id, now); });
  if (!s.ok()) spdlog::warn("could not record a token's last use: {}", s.ToString());
}

Result<Authenticated> AuthService::AuthenticateBearer(std::string_view token) {
  if (token.empty()) return Unauthenticated("missing bearer token");
  const std::string hash = Sha256Hex(token);
  const TimeMs now = clock_.NowMs();
  std::optional<Cached> hit = FromCache(token_cache_, hash, now);
  if (!hit) {
    std::optional<std::pair<store::TokenRecord, Principal>> found;
    VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(found, tx.FindToken(hash));
      if (found) VOUCH_TRY(LoadMembership(tx, found->second));
      return OkStatus();
    }));
    // The stored hash is compared in constant time, although the lookup by hash already matched.
    if (!found || !ConstantTimeEquals(found->first.token_hash, hash)) {
      return Unauthenticated("invalid token");
    }
    const auto& [record, principal] = *found;
    if (record.revoked_ms) return Unauthenticated("token revoked");
    if (principal.disabled) return Unauthenticated("principal disabled");
    hit = Cached{.who = {.principal = principal,
                         .method = AuthMethod::kToken,
                         .read_only = record.scope == kScopeRead},
                 .loaded_ms = now,
                 .expires_ms = record.expires_ms,
                 .token_id = record.id};
    std::unique_lock lock(cache_mu_);
    if (token_cache_.size() >= kMaxTracked) token_cache_.clear();
    token_cache_[hash] = *hit;
  }
  if (hit->expires_ms && *hit->expires_ms <= now) return Unauthenticated("token expired");
  Touch(hit->token_id, now);
  return std::move(hit->who);
}

bool AuthService::Failures::Forgotten(TimeMs now, TimeMs window) const {
  return now - std::max(last_failure_ms, blocked_until_ms) >= window;
}

Status AuthService::CheckThrottle(const std::string& key, TimeMs now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return OkStatus();
  if (it->second.Forgotten(now, options_.failure_window_ms)) {
    failures_.erase(it);
    return OkStatus();
  }
  if (now < it->second.blocked_until_ms) {
    TimeMs wait = it->second.blocked_until_ms - now;
    return ResourceExhausted(
        fmt::format("too many failed sign-ins; retry in {} s", (wait + 999) / 1000));
  }
  return OkStatus();
}

bool AuthService::SignedInBefore(const std::string& pair_key, TimeMs now) {
  std::lock_guard lock(mu_);
  auto it = signed_in_.find(pair_key);
  return it != signed_in_.end() && now - it->second <= kSignedInMemoryMs;
}

void AuthService::NoteFailure(const std::string& key, int limit, TimeMs now) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= kMaxTracked && !failures_.contains(key)) {
    std::erase_if(failures_, [&](const auto& kv) {
      return kv.second.Forgotten(now, options_.failure_window_ms);
    });
    if (failures_.size() >= kMaxTracked) return;
  }
  Failures& f = failures_[key];
  if (f.count > 0 && f.Forgotten(now, options_.failure_window_ms)) f = {};
  ++f.count;
  f.last_failure_ms = now;
  if (f.count >= limit) {
    // 1 s at the limit, doubling with each further failure, at most the failure window.
    const int doublings = std::min(f.count - limit, 30);
    f.blocked_until_ms =
        now + std::min(options_.failure_window_ms, kFirstBackoffMs * (TimeMs{1} << doublings));
  }
}

Result<Authenticated> AuthService::AuthenticatePassword(std::string_view username,
                                                        std::string_view password,
                                                        std::string_view address) {
  const TimeMs now = clock_.NowMs();
  // Failures are counted per username from one address, and, with a ceiling `kCeilingFactor`
  // times higher, per username from any address and per address for any username: guessing from
  // one place is slowed down soon, and someone else's failures never keep a user out of an address
  // it signed in from (SignedInBefore).
  const std::string pair_key = fmt::format("pair:{}\n{}", username, address);
  const std::string user_key = fmt::format("user:{}", username);
  const std::string address_key = fmt::format("address:{}", address);
  VOUCH_TRY(CheckThrottle(pair_key, now));
  // A username signing in from an address it has signed in from before is held only to that
  // pair's limit: failures sprayed from elsewhere (by the username's or the address's ceiling) do
  // not keep its owner out.
  if (!SignedInBefore(pair_key, now)) {
    VOUCH_TRY(CheckThrottle(user_key, now));
    VOUCH_TRY(CheckThrottle(address_key, now));
  }
  // The cache key binds username and password under a key that never leaves this process.
  std::string material(username);
  material.push_back('\0');
  material.append(password);
  const std::string key = HmacSha256(cache_key_, material);
  sodium_memzero(material.data(), material.size());
  if (std::optional<Cached> hit = FromCache(password_cache_, key, now)) return hit->who;

  std::optional<Principal> found;
  std::string hash;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(found, tx.FindPrincipal(username));
    if (!found) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(hash, tx.PasswordHash(found->id));
    return LoadMembership(tx, *found);
  }));
  bool ok = false;
  if (found && !hash.empty()) {
    ok = VerifyPassword(hash, password);
  } else {
    // As long as for a real user, so that timing does not tell which usernames exist.
    std::string dummy;
    {
      std::lock_guard lock(hash_mu_);
      dummy = dummy_hash_;
    }
    if (dummy.empty()) {
      auto made = HashPassword("not-a-password-of-anyone");
      if (made.ok()) {
        dummy = *made;
        std::lock_guard lock(hash_mu_);
        dummy_hash_ = dummy;
      }
    }
    if (!dummy.empty()) (void)VerifyPassword(dummy, password);
  }
  if (!ok || found->disabled) {
    const int ceiling = options_.max_failures > std::numeric_limits<int>::max() / kCeilingFactor
                            ? std::numeric_limits<int>::max()
                            : options_.max_failures * kCeilingFactor;
    NoteFailure(pair_key, options_.max_failures, now);
    NoteFailure(user_key, ceiling, now);
    NoteFailure(address_key, ceiling, now);
    return Unauthenticated(kInvalidCredentials);
  }
  {
    std::lock_guard lock(mu_);
    failures_.erase(pair_key);
    if (signed_in_.size() >= kMaxTracked && !signed_in_.contains(pair_key)) {
      std::erase_if(signed_in_,
                    [&](const auto& kv) { return now - kv.second > kSignedInMemoryMs; });
      if (signed_in_.size() >= kMaxTracked) signed_in_.clear();
    }
    signed_in_[pair_key] = now;
  }
  Cached c{.who = {.principal = *found, .method = AuthMethod::kPassword}, .loaded_ms = now};
  std::unique_lock lock(cache_mu_);
  if (password_cache_.size() >= kMaxTracked) password_cache_.clear();
  password_cache_[key] = c;
  return c.who;
}

Result<Authenticated> AuthService::AuthenticateHeader(std::string_view header,
                                                      std::string_view address,
                                                      std::string& attempted) {
  attempted.clear();
  if (header.empty()) {
    return Unauthenticated(
        "missing credentials: send Authorization: Bearer <token> or Basic <user:password>");
  }
  if (SchemeIs(header, "Bearer")) {
    std::string_view token = header.substr(7);
    Result<Authenticated> who = AuthenticateBearer(token);
    if (who.ok()) {
      attempted = who->principal.name;
    } else if (who.status().code() == StatusCode::kUnauthenticated && !token.empty()) {
      // Name the owner of a known (revoked, expired) token; never the token.
      std::optional<std::pair<store::TokenRecord, Principal>> known;
      Status s = store_.Read([&](store::Tx& tx) -> Status {
        VOUCH_ASSIGN_OR_RETURN(known, tx.FindToken(Sha256Hex(token)));
        return OkStatus();
      });
      attempted = s.ok() && known ? known->second.name : "(unknown token)";
    }
    return who;
  }
  if (SchemeIs(header, "Basic")) {
    std::optional<std::string> decoded = Base64DecodeLoose(header.substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos) {
      return Unauthenticated("malformed Basic credentials: send base64(username:password)");
    }
    std::string_view username = std::string_view(*decoded).substr(0, colon);
    std::string_view password = std::string_view(*decoded).substr(colon + 1);
    Result<Authenticated> who = AuthenticatePassword(username, password, address);
    attempted = who.ok() ? who->principal.name : AttemptedUser(username);
    sodium_memzero(decoded->data(), decoded->size());
    return who;
  }
  return Unauthenticated(
      "unsupported authorization scheme: send Authorization: Bearer <token> or Basic "
      "<user:password>");
}

void AuthService::RecordDenial(const RequestContext& ctx, std::string_view reason) {
  if (!ctx.principal) {
    std::lock_guard lock(mu_);
    // Past the cap, further keys share one bucket, so a flood from many addresses cannot grow
    // memory without bound; their count is still recorded.
    std::pair<std::string, std::string> key{ctx.address, ctx.attempted_identity};
    if (pending_.size() >= kMaxPendingKeys && !pending_.contains(key)) {
      key = {kOverflowAddress, ""};
    }
    Pending& p = pending_[key];
    if (p.count == 0) p.window_start = clock_.NowMs();
    ++p.count;
    p.last_reason = std::string(reason);
    p.user_agent = ctx.user_agent;
    return;
  }
  AuditEvent e = NewEvent(ctx, audit::Action::kAccessDenied);
  e.outcome = Outcome::kDenied;
  e.reason = std::string(reason);
  e.target = {{"type", "request"}};
  if (!ctx.method.empty()) e.target["method"] = ctx.method;
  if (!ctx.path.empty()) e.target["path"] = ctx.path;
  if (ctx.subject) NameSubject(*ctx.subject, e);
  Status s = executor_.RecordOnly(ctx, [&](Change& change) { return change.Record(e); });
  if (!s.ok()) spdlog::error("could not record a denial: {}", s.ToString());
}

void AuthService::NameSubject(const RequestSubject& subject, AuditEvent& e) {
  // A name no model could have (the door read it from a refused request) is left out.
  if (!ValidateModelName(subject.model).ok()) return;
  // Read apart from the denial's write, so that recording it locks no model row.
  std::optional<Model> m;
  Status s = store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(m, tx.FindModelRow(subject.model));
    return OkStatus();
  });
  if (!s.ok())
    spdlog::warn("a denial names model {} without its id: {}", subject.model, s.ToString());
  e.model_id = s.ok() && m ? m->id : 0;
  e.model_name = subject.model;
  e.target["model"] = subject.model;
  // A version is recorded when it could be one: canonical JSON holds integers below 2^53 only.
  constexpr int64_t kMaxVersion = (int64_t{1} << 53) - 1;
  if (subject.version > 0 && subject.version <= kMaxVersion) {
    e.version = subject.version;
    e.target["version"] = subject.version;
  }
}

void AuthService::FlushDenials(bool all) {
  std::map<std::pair<std::string, std::string>, Pending> closed;
  TimeMs now = clock_.NowMs();
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || now - it->second.window_start >= options_.denial_window_ms) {
        closed.insert(pending_.extract(it++));
      } else {
        ++it;
      }
    }
  }
  if (closed.empty()) return;
  RequestContext ctx;
  ctx.clock = &clock_;
  const RequestContext flush = ctx;
  Status s = executor_.RecordOnly(flush, [&](Change& change) -> Status {
    for (const auto& [key, p] : closed) {
      ctx.address = key.first;
      ctx.user_agent = p.user_agent;
      AuditEvent e = NewEvent(ctx, audit::Action::kAccessDenied);
      e.outcome = Outcome::kDenied;
      e.reason = fmt::format("unauthenticated: {}", p.last_reason);
      e.count = p.count;
      e.target = {{"type", "request"}};
      e.after = {{"window_start", FormatRfc3339Ms(p.window_start)}, {"count", p.count}};
      if (!key.second.empty()) e.target["attempted"] = key.second;
      VOUCH_TRY(change.Record(std::move(e)));
    }
    return OkStatus();
  });
  if (!s.ok()) spdlog::error("could not record aggregated denials: {}", s.ToString());
}

}  // namespace vouch::service
