#include "vouch/service/webhooks.h"

#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>

#include "vouch/audit/actions.h"
#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/notify/destination.h"
#include "vouch/notify/subscription_filter.h"
#include "vouch/service/events.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch::service {

using audit::Action;
using store::WebhookRecord;
using store::WebhookStatus;

namespace {

constexpr std::string_view kSecretAssociatedData = "vouch webhook secret";
constexpr std::string_view kSealedPrefix = "v1.";
constexpr size_t kMaxDescriptionChars = 5000;
constexpr size_t kMaxEmailRecipients = 100;
constexpr int kModelPage = 500;

Status CheckName(std::string_view name) {
  if (name.empty()) return InvalidArgument("name: a webhook needs a name");
  if (!IsValidUtf8(name) || HasControlCharacter(name)) {
    return InvalidArgument("name: must be UTF-8 text without control characters");
  }
  if (Utf8Length(name) > kMaxWebhookNameChars) {
    return InvalidArgument(fmt::format("name: at most {} characters", kMaxWebhookNameChars));
  }
  return OkStatus();
}

Status CheckDescription(std::string_view description) {
  if (!IsValidUtf8(description)) return InvalidArgument("description: must be valid UTF-8");
  if (description.find('\0') != std::string_view::npos) {
    return InvalidArgument("description: must not hold NUL");
  }
  if (Utf8Length(description) > kMaxDescriptionChars) {
    return InvalidArgument(fmt::format("description: at most {} characters", kMaxDescriptionChars));
  }
  return OkStatus();
}

Status CheckSecret(std::string_view secret) {
  if (secret.empty()) return OkStatus();
  if (secret.size() < kMinWebhookSecretBytes) {
    return InvalidArgument(
        fmt::format("secret: at least {} bytes (got {})", kMinWebhookSecretBytes, secret.size()));
  }
  if (secret.size() > kMaxWebhookSecretBytes) {
    return InvalidArgument(fmt::format("secret: at most {} bytes", kMaxWebhookSecretBytes));
  }
  return OkStatus();
}

Status CheckEmailTo(const std::vector<std::string>& to) {
  if (to.size() > kMaxEmailRecipients) {
    return InvalidArgument(fmt::format("email_to: at most {} recipients", kMaxEmailRecipients));
  }
  for (const std::string& r : to) {
    if (r == "reviewers" || r == "requester") continue;
    if (r.find('@') == std::string::npos || !ValidateEmail(r).ok()) {
      return InvalidArgument(
          fmt::format("email_to: \"{}\" is not reviewers, requester or an e-mail address", r));
    }
  }
  return OkStatus();
}

std::vector<std::string> Deduplicated(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : in) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

json::array ToArray(const std::vector<std::string>& items) {
  json::array a;
  for (const std::string& s : items) a.emplace_back(s);
  return a;
}

std::string ArrayText(const std::vector<std::string>& items) {
  return SerializeJson(ToArray(items));
}

// A stored JSON array of strings (empty for "" or anything else, which the service never writes).
std::vector<std::string> StringsOf(std::string_view text) {
  std::vector<std::string> out;
  Result<json::value> v = ParseJson(text.empty() ? std::string_view("[]") : text);
  if (!v.ok() || !v->is_array()) return out;
  for (const json::value& item : v->as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

Status WebhookNotFound(int64_t id) { return NotFound(fmt::format("webhook {} not found", id)); }

// What the audit log keeps of a receiver's URL: its scheme, host and port, with a path or query
// other than "/" replaced by "…" (Slack, Teams and Discord take their credential in the path, and
// the log can never be edited), and the SHA-256 of the whole URL, which proves which URL it was.
// `webhooks get` shows the whole URL to whoever may read the subscription.
void AddAuditedUrl(json::object& o, std::string_view url) {
  if (url.empty()) {
    o["url"] = "";
    return;
  }
  boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_uri(url);
  std::string shown = "…";
  if (parsed) {
    shown = fmt::format("{}://{}", parsed->scheme(), parsed->encoded_host_and_port());
    const bool bare =
        (parsed->encoded_path().empty() || parsed->encoded_path() == "/") && !parsed->has_query();
    shown += bare ? std::string(parsed->encoded_path()) : "/…";
  }
  o["url"] = shown;
  o["url_sha256"] = Sha256Hex(url);
}

// What the audit log says of a subscription's fields (never the secret; the URL as
// AddAuditedUrl keeps it).
json::object Details(const WebhookRecord& w) {
  json::object o{{"name", w.name},
                 {"description", w.description},
                 {"events", ToArray(StringsOf(w.events))},
                 {"model", w.model_pattern},
                 {"format", w.format},
                 {"status", store::WebhookStatusName(w.status)}};
  AddAuditedUrl(o, w.url);
  if (w.format == kEmailFormat) o["email_to"] = ToArray(StringsOf(w.email_to));
  return o;
}

AuditEvent WebhookEvent(const RequestContext& ctx, Action action, const WebhookRecord& w) {
  AuditEvent e = NewEvent(ctx, action);
  e.target = {{"type", "webhook"}, {"webhook", w.id}, {"name", w.name}};
  return e;
}

}  // namespace

Result<std::string> SealWebhookSecret(std::string_view master_key, std::string_view secret) {
  if (secret.empty()) return std::string();
  if (master_key.size() != kSealKeyBytes) {
    return FailedPrecondition("the master key is not 32 bytes: cannot seal a webhook secret");
  }
  SealedBox box = Seal(master_key, secret, kSecretAssociatedData);
  return fmt::format("{}{}.{}", kSealedPrefix, Base64UrlEncode(box.nonce),
                     Base64UrlEncode(box.ciphertext));
}

Result<std::string> OpenWebhookSecret(std::string_view master_key, std::string_view sealed) {
  if (sealed.empty()) return std::string();
  auto unreadable = [] {
    return FailedPrecondition(
        "a webhook's secret does not open with this master key (another key, or altered bytes)");
  };
  if (master_key.size() != kSealKeyBytes || !sealed.starts_with(kSealedPrefix)) {
    return unreadable();
  }
  std::string_view rest = sealed.substr(kSealedPrefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return unreadable();
  std::optional<std::string> nonce = Base64UrlDecode(rest.substr(0, dot));
  std::optional<std::string> ciphertext = Base64UrlDecode(rest.substr(dot + 1));
  if (!nonce || !ciphertext) return unreadable();
  Result<std::string> plain =
      Unseal(master_key, SealedBox{*nonce, *ciphertext}, kSecretAssociatedData);
  if (!plain.ok()) return unreadable();
  return plain;
}

WebhookService::WebhookService(MutationExecutor& executor, Authorizer authz, std::string master_key,
                               PageTokens page_tokens, WebhookServiceOptions options)
    : executor_(executor),
      store_(executor.store()),
      authz_(authz),
      master_key_(std::move(master_key)),
      page_tokens_(std::move(page_tokens)),
      options_(std::move(options)) {}

Status WebhookService::Validate(const WebhookRecord& w, const std::vector<std::string>& events,
                                const std::vector<std::string>& email_to, bool check_url) const {
  VOUCH_TRY(CheckName(w.name));
  VOUCH_TRY(CheckDescription(w.description));
  bool known = w.format == kEmailFormat ||
               std::find(options_.formats.begin(), options_.formats.end(), w.format) !=
                   options_.formats.end();
  if (!known) {
    std::string names = fmt::format("{}", fmt::join(options_.formats, ", "));
    return InvalidArgument(fmt::format("format: unsupported format \"{}\" (one of {}, {})",
                                       w.format, names, kEmailFormat));
  }
  if (w.format == kEmailFormat) {
    if (!w.url.empty()) return InvalidArgument("url: an e-mail subscription has no URL");
    if (email_to.empty()) {
      return InvalidArgument(
          "email_to: an e-mail subscription names its recipients (reviewers, requester or "
          "addresses)");
    }
    VOUCH_TRY(CheckEmailTo(email_to));
  } else {
    if (!email_to.empty()) {
      return InvalidArgument("email_to: recipients are for format email only");
    }
    if (w.url.empty()) return InvalidArgument("url: a webhook needs the URL to send to");
    if (check_url) VOUCH_TRY(notify::CheckDestination(w.url, options_.allow_private));
  }
  VOUCH_TRY(notify::CheckEventPatterns(events));
  VOUCH_TRY(notify::CheckModelPattern(w.model_pattern));
  return OkStatus();
}

Status WebhookService::CheckScope(store::Tx& tx, const RequestContext& ctx,
                                  std::string_view glob) const {
  if (ctx.principal->is_admin) return OkStatus();
  if (glob.empty()) {
    return PermissionDenied(fmt::format(
        "{} may not subscribe to the whole registry: a webhook without a model pattern needs "
        "admin (give --model)",
        ctx.principal->name));
  }
  std::string after;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<Model> page, tx.ListModelRows(after, kModelPage));
    for (const Model& m : page) {
      if (!notify::MatchesModel(glob, m.name)) continue;
      VOUCH_TRY(authz_.Require(tx, ctx, m, Permission::kManage));
    }
    if (page.size() < static_cast<size_t>(kModelPage)) return OkStatus();
    after = page.back().name;
  }
}

Result<WebhookRecord> WebhookService::LoadOwned(store::Tx& tx, const RequestContext& ctx,
                                                int64_t id) {
  if (id <= 0) return InvalidArgument("a webhook id is a positive integer");
  VOUCH_ASSIGN_OR_RETURN(std::optional<WebhookRecord> found, tx.FindWebhook(id));
  if (!found || found->deleted_ms) return WebhookNotFound(id);
  if (found->owner_id != ctx.principal->id && !ctx.principal->is_admin) {
    return PermissionDenied(fmt::format(
        "webhook {} belongs to another principal: only its owner or an admin may see or change it",
        id));
  }
  return std::move(*found);
}

Result<WebhookView> WebhookService::ViewOf(store::Tx& tx, WebhookRecord w) const {
  WebhookView v;
  VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> owner, tx.FindPrincipalById(w.owner_id));
  if (owner) v.owner = owner->name;
  v.events = StringsOf(w.events);
  v.email_to = StringsOf(w.email_to);
  v.secret_set = !w.secret.empty();
  w.secret.clear();
  v.record = std::move(w);
  return v;
}

Result<WebhookView> WebhookService::Create(const RequestContext& ctx, const WebhookArgs& args) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  VOUCH_TRY(authz_.RequireWrite(ctx));
  WebhookRecord w;
  w.name = args.name;
  w.description = args.description;
  w.url = args.url;
  w.model_pattern = args.model_pattern;
  w.format = args.format.empty() ? "vouch" : args.format;
  w.status = args.status;
  std::vector<std::string> events = Deduplicated(args.events);
  std::vector<std::string> email_to = Deduplicated(args.email_to);
  VOUCH_TRY(Validate(w, events, email_to, true));
  VOUCH_TRY(CheckSecret(args.secret));
  w.events = ArrayText(events);
  w.email_to = ArrayText(email_to);
  VOUCH_ASSIGN_OR_RETURN(w.secret, SealWebhookSecret(master_key_, args.secret));
  w.owner_id = ctx.principal->id;

  WebhookView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_TRY(CheckScope(tx, ctx, w.model_pattern));
    WebhookRecord row = w;
    row.created_ms = row.updated_ms = ctx.Now();
    VOUCH_ASSIGN_OR_RETURN(row.after_seq, tx.AuditHeadSeq());
    VOUCH_TRY(tx.InsertWebhook(row));
    AuditEvent e = WebhookEvent(ctx, Action::kWebhookCreated, row);
    json::object after = Details(row);
    if (!row.secret.empty()) after["secret"] = "set";
    e.before = nullptr;
    e.after = std::move(after);
    VOUCH_TRY(change.Record(std::move(e)));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, std::move(row)));
    return OkStatus();
  }));
  return out;
}

Result<WebhookView> WebhookService::Get(const RequestContext& ctx, int64_t id) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  WebhookView out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(WebhookRecord w, LoadOwned(tx, ctx, id));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, std::move(w)));
    return OkStatus();
  }));
  return out;
}

Result<WebhookPage> WebhookService::List(const RequestContext& ctx, std::string_view page_token,
                                         int limit, std::string_view format) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (limit < 1 || limit > 1000) return InvalidArgument("limit must be between 1 and 1000");
  int64_t after_id = 0;
  if (!page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object position, page_tokens_.Decode(page_token));
    const json::value* after = position.if_contains("webhooks_after");
    if (after == nullptr || !after->is_int64() || after->as_int64() <= 0) {
      return InvalidArgument("invalid page token");
    }
    after_id = after->as_int64();
  }
  WebhookPage out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    // Rows of another format are passed over: read on until the page is full or the rows end.
    bool more = false;
    while (true) {
      store::WebhookFilter filter{.owner_id = ctx.principal->is_admin ? 0 : ctx.principal->id,
                                  .include_deleted = false,
                                  .after_id = after_id,
                                  .limit = limit + 1};
      VOUCH_ASSIGN_OR_RETURN(std::vector<WebhookRecord> rows, tx.ListWebhooks(filter));
      bool exhausted = rows.size() <= static_cast<size_t>(limit);
      for (WebhookRecord& w : rows) {
        after_id = w.id;
        if (!format.empty() && w.format != format) continue;
        if (out.webhooks.size() == static_cast<size_t>(limit)) {
          more = true;
          break;
        }
        VOUCH_ASSIGN_OR_RETURN(WebhookView v, ViewOf(tx, std::move(w)));
        out.webhooks.push_back(std::move(v));
      }
      if (more || exhausted) break;
    }
    if (more) {
      out.next_page_token =
          page_tokens_.Encode(json::object{{"webhooks_after", out.webhooks.back().record.id}});
    }
    return OkStatus();
  }));
  return out;
}

Result<WebhookView> WebhookService::Update(const RequestContext& ctx, int64_t id,
                                           const WebhookPatch& patch) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  VOUCH_TRY(authz_.RequireWrite(ctx));
  if (patch.secret) VOUCH_TRY(CheckSecret(*patch.secret));
  WebhookView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(WebhookRecord old, LoadOwned(tx, ctx, id));
    WebhookRecord w = old;
    if (patch.name) w.name = *patch.name;
    if (patch.description) w.description = *patch.description;
    if (patch.url) w.url = *patch.url;
    if (patch.model_pattern) w.model_pattern = *patch.model_pattern;
    if (patch.format) w.format = *patch.format;
    if (patch.status) w.status = *patch.status;
    std::vector<std::string> events =
        patch.events ? Deduplicated(*patch.events) : StringsOf(old.events);
    std::vector<std::string> email_to =
        patch.email_to ? Deduplicated(*patch.email_to) : StringsOf(old.email_to);
    // Moving to or from e-mail drops what the other kind has, unless the patch gives it.
    if (patch.format && *patch.format == kEmailFormat && !patch.url) w.url.clear();
    if (patch.format && *patch.format != kEmailFormat && !patch.email_to) email_to.clear();
    // A URL that was accepted stays so (a server restarted without --webhook-allow-private still
    // lets its owner disable it); the address is checked at each delivery anyway.
    VOUCH_TRY(Validate(w, events, email_to, w.url != old.url || w.format != old.format));
    w.events = ArrayText(events);
    w.email_to = ArrayText(email_to);

    std::string secret_change;
    if (patch.secret) {
      VOUCH_ASSIGN_OR_RETURN(std::string before, OpenWebhookSecret(master_key_, old.secret));
      if (*patch.secret != before) {
        secret_change = patch.secret->empty() ? "removed" : before.empty() ? "set" : "changed";
        VOUCH_ASSIGN_OR_RETURN(w.secret, SealWebhookSecret(master_key_, *patch.secret));
      }
    }
    if (w.model_pattern != old.model_pattern) VOUCH_TRY(CheckScope(tx, ctx, w.model_pattern));

    json::object before_details = Details(old), after_details = Details(w);
    json::object before, after;
    for (const auto& field : after_details) {
      const json::value* was = before_details.if_contains(field.key());
      if (was == nullptr || *was != field.value()) {
        before[field.key()] = was == nullptr ? json::value(nullptr) : *was;
        after[field.key()] = field.value();
      }
    }
    for (const auto& field : before_details) {
      if (!after_details.contains(field.key())) {
        before[field.key()] = field.value();
        after[field.key()] = nullptr;
      }
    }
    if (!secret_change.empty()) {
      before["secret"] = old.secret.empty() ? "none" : "set";
      after["secret"] = secret_change;
    }
    if (after.empty()) {
      VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, std::move(old)));
      return change.Unchanged();
    }
    w.updated_ms = ctx.Now();
    VOUCH_ASSIGN_OR_RETURN(bool updated, tx.UpdateWebhook(w));
    if (!updated) return WebhookNotFound(id);
    AuditEvent e = WebhookEvent(ctx, Action::kWebhookUpdated, w);
    e.before = std::move(before);
    e.after = std::move(after);
    VOUCH_TRY(change.Record(std::move(e)));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, std::move(w)));
    return OkStatus();
  }));
  return out;
}

Status WebhookService::Delete(const RequestContext& ctx, int64_t id) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  VOUCH_TRY(authz_.RequireWrite(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(WebhookRecord w, LoadOwned(tx, ctx, id));
    TimeMs now = ctx.Now();
    w.deleted_ms = now;
    w.updated_ms = now;
    VOUCH_ASSIGN_OR_RETURN(bool updated, tx.UpdateWebhook(w));
    if (!updated) return WebhookNotFound(id);
    AuditEvent e = WebhookEvent(ctx, Action::kWebhookDeleted, w);
    json::object before = Details(w);
    if (!w.secret.empty()) before["secret"] = "set";
    e.before = std::move(before);
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

}  // namespace vouch::service
