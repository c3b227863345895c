// Notification subscriptions ("webhooks", issue 13; docs/notifications.md): who may subscribe to
// which events, checked once here for every door (the native API, MLflow's webhook API, the CLI).
// Each change runs through the mutation executor with its audit event (webhook.created,
// webhook.updated, webhook.deleted) naming the fields set or changed; a secret is named only as
// "set", "changed" or "removed", never itself. Secrets are sealed under the master key
// (SealWebhookSecret) and never returned: views say only whether one is set.
//
// Who may do what:
//   - creating one needs a token that may write; a subscription with a model glob needs MANAGE on
//     every existing live model the glob matches (a glob that matches no model yet is allowed: the
//     owner's READ on each event's model is checked at delivery, where events about models it may
//     not read are skipped); a registry-wide one (no glob) needs admin;
//   - reading, changing and deleting one is for its owner or an admin (PERMISSION_DENIED for
//     anyone else, recorded as access.denied like every refusal); changing the glob checks it
//     again as on creation, for the caller;
//   - lists show a caller its own subscriptions; admins see everyone's.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/domain/principal.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/executor.h"
#include "vouch/service/page_token.h"
#include "vouch/store/store.h"
#include "vouch/store/webhook_rows.h"

namespace vouch::service {

// Seals a subscription's secret under the 32-byte master key, as the text stored in
// webhooks.secret: "v1." base64url(nonce) "." base64url(ciphertext), XChaCha20-Poly1305 with the
// associated data "vouch webhook secret" (a random nonce each time). An empty secret seals to "".
Result<std::string> SealWebhookSecret(std::string_view master_key, std::string_view secret);
// The secret sealed by SealWebhookSecret ("" for ""). FAILED_PRECONDITION when `sealed` is not
// in that form or does not open with this master key (another key, or altered bytes).
Result<std::string> OpenWebhookSecret(std::string_view master_key, std::string_view sealed);

inline constexpr size_t kMinWebhookSecretBytes = 16;
inline constexpr size_t kMaxWebhookSecretBytes = 1024;
inline constexpr size_t kMaxWebhookNameChars = 128;
inline constexpr std::string_view kEmailFormat = "email";

struct WebhookServiceOptions {
  // The formats a subscription may name besides "email" (the FormatRegistry's names).
  std::vector<std::string> formats = {"vouch", "cloudevents", "slack", "mlflow"};
  // --webhook-allow-private: receivers on private, loopback and link-local addresses (and plain
  // http:// to them) are allowed.
  bool allow_private = false;
};

// A new subscription. Empty format: "vouch".
struct WebhookArgs {
  std::string name;
  std::string description;
  std::string url;
  std::vector<std::string> events;
  std::string model_pattern;
  std::string format;
  std::vector<std::string> email_to;
  std::string secret;  // empty: unsigned
  store::WebhookStatus status = store::WebhookStatus::kActive;
};

// A change: only the fields given change. `secret` "" removes the secret.
struct WebhookPatch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<std::string> model_pattern;
  std::optional<std::string> format;
  std::optional<std::vector<std::string>> email_to;
  std::optional<std::string> secret;
  std::optional<store::WebhookStatus> status;
};

// A subscription as the doors show it: never its secret (record.secret is cleared).
struct WebhookView {
  store::WebhookRecord record;
  std::string owner;  // the owner's username (empty when it no longer exists)
  std::vector<std::string> events;
  std::vector<std::string> email_to;
  bool secret_set = false;
};

struct WebhookPage {
  std::vector<WebhookView> webhooks;  // oldest first
  std::string next_page_token;        // empty on the last page
};

class WebhookService {
 public:
  // `master_key`: 32 raw bytes (ParseMasterKey).
  WebhookService(MutationExecutor& executor, Authorizer authz, std::string master_key,
                 PageTokens page_tokens, WebhookServiceOptions options = {});

  // INVALID_ARGUMENT naming the field ("name: …", "url: …", "events: …", "model: …", "format: …",
  // "secret: …", "email_to: …", "description: …") and nothing created; PERMISSION_DENIED as the
  // file comment says; UNAUTHENTICATED without a principal. Audited as webhook.created.
  Result<WebhookView> Create(const RequestContext& ctx, const WebhookArgs& args);
  // NOT_FOUND "webhook N not found" (also for a deleted one); PERMISSION_DENIED unless the owner
  // or an admin.
  Result<WebhookView> Get(const RequestContext& ctx, int64_t id);
  // The caller's own (an admin's: everyone's), oldest first, at most `limit` (1..1000, else
  // INVALID_ARGUMENT), from `page_token` (empty: the first page; INVALID_ARGUMENT "invalid page
  // token" for one this server's key did not make). With `format`, only subscriptions in that
  // format (MLflow's door lists its own).
  Result<WebhookPage> List(const RequestContext& ctx, std::string_view page_token, int limit,
                           std::string_view format = {});
  // As Get for who and which; INVALID_ARGUMENT as Create for the fields given. A patch that
  // changes nothing records nothing. Audited as webhook.updated (disable and enable too).
  Result<WebhookView> Update(const RequestContext& ctx, int64_t id, const WebhookPatch& patch);
  // Soft delete: the row and its delivery ledger stay; it receives nothing more. As Get for who
  // and which. Audited as webhook.deleted.
  Status Delete(const RequestContext& ctx, int64_t id);

  const WebhookServiceOptions& options() const { return options_; }

 private:
  // Validates the whole subscription as it would be stored (after a patch or as created); the
  // URL only with `check_url`.
  Status Validate(const store::WebhookRecord& w, const std::vector<std::string>& events,
                  const std::vector<std::string>& email_to, bool check_url) const;
  // MANAGE on every live model `glob` matches, or admin for a registry-wide one.
  Status CheckScope(store::Tx& tx, const RequestContext& ctx, std::string_view glob) const;
  Result<store::WebhookRecord> LoadOwned(store::Tx& tx, const RequestContext& ctx, int64_t id);
  Result<WebhookView> ViewOf(store::Tx& tx, store::WebhookRecord w) const;

  MutationExecutor& executor_;
  store::Store& store_;
  const Authorizer authz_;
  const std::string master_key_;
  const PageTokens page_tokens_;
  const WebhookServiceOptions options_;
};

}  // namespace vouch::service
