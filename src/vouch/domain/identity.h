// Identity and access: model permissions, roles, groups and the names they carry. Plain types and
// their validation; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch {

// Per-model permission levels, as MLflow's auth app names them. Each level includes the ones
// below it: READ (get, search), USE (READ; reserved for serving), EDIT (USE plus every change but
// deletes and permissions), MANAGE (everything on the model, permissions included).
// NO_PERMISSIONS is an explicit "nothing", which overrides the default.
enum class Permission { kNone = 0, kRead = 1, kUse = 2, kEdit = 3, kManage = 4 };

std::string_view PermissionName(Permission p);  // "READ", …, "NO_PERMISSIONS"
// Case-insensitive. INVALID_ARGUMENT naming the accepted values.
Result<Permission> ParsePermission(std::string_view text);
inline bool Allows(Permission have, Permission need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

// Roles named by approval policies. Any valid role name may be granted; these are the ones vouch
// knows: admin (bypasses every permission check), auditor (reads every model and the whole audit
// log), and the reviewer roles policies count.
inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kRoleAuditor = "auditor";
inline constexpr std::string_view kBuiltInRoles[] = {"admin", "auditor", "data-scientist",
                                                     "ml-engineer", "business-owner"};

// Usernames, service-account and group names: 1..64 characters of A-Z a-z 0-9 . _ @ -, starting
// with a letter or digit. INVALID_ARGUMENT naming the field otherwise.
Status ValidatePrincipalName(std::string_view field, std::string_view name);
// Role names: 1..64 characters of a-z 0-9 -, starting with a letter.
Status ValidateRoleName(std::string_view role);
// Display names and e-mail addresses: valid UTF-8 without control characters, at most 256 bytes;
// an e-mail, when not empty, has one '@' with text on both sides.
Status ValidateDisplayName(std::string_view display_name);
Status ValidateEmail(std::string_view email);
// Passwords: 8..1024 bytes of valid UTF-8 (the length bound keeps hashing cheap to refuse).
Status ValidatePassword(std::string_view password);
// Token names: 1..128 characters, valid UTF-8 without control characters.
Status ValidateTokenName(std::string_view name);

// Token scopes: "full" (anything the owner may do) or "read" (only what READ allows).
inline constexpr std::string_view kScopeFull = "full";
inline constexpr std::string_view kScopeRead = "read";
Status ValidateScope(std::string_view scope);

struct Group {
  int64_t id = 0;  // never reused
  std::string name;
  std::string description;
  TimeMs created_ms = 0;
};

// Who a grant is for: a principal or a group (exactly one id is non-zero).
struct Grantee {
  int64_t principal_id = 0;
  int64_t group_id = 0;
  bool is_group() const { return group_id != 0; }
};

struct ModelPermission {
  int64_t model_id = 0;
  Grantee grantee;
  Permission permission = Permission::kRead;
};

struct RoleGrant {
  std::string role;
  Grantee grantee;
};

// A web session (for the UI): only hashes are stored. The cookie carrying the session id is
// HttpOnly, Secure (under TLS) and SameSite=Strict; every state-changing request made with it must
// carry the CSRF token in a header, whose hash must match csrf_hash.
struct WebSession {
  std::string id_hash;  // SHA-256 hex of the cookie value
  int64_t principal_id = 0;
  std::string csrf_hash;  // SHA-256 hex of the CSRF token
  TimeMs created_ms = 0;
  TimeMs expires_ms = 0;
  TimeMs last_seen_ms = 0;
  std::optional<TimeMs> revoked_ms;
  std::string address;
  std::string user_agent;
};

}  // namespace vouch
