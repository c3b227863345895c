#include "vouch/domain/identity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "vouch/util/text.h"

namespace vouch {
namespace {

// Characters (code points) in UTF-8 text: the bytes that do not continue a sequence.
size_t CountCharacters(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kNone:
      return "NO_PERMISSIONS";
    case Permission::kRead:
      return "READ";
    case Permission::kUse:
      return "USE";
    case Permission::kEdit:
      return "EDIT";
    case Permission::kManage:
      return "MANAGE";
  }
  return "NO_PERMISSIONS";
}

Result<Permission> ParsePermission(std::string_view text) {
  for (Permission p : {Permission::kNone, Permission::kRead, Permission::kUse, Permission::kEdit,
                       Permission::kManage}) {
    std::string_view name = PermissionName(p);
    if (text.size() == name.size() &&
        std::equal(text.begin(), text.end(), name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return p;
    }
  }
  return InvalidArgument("permission must be one of READ, USE, EDIT, MANAGE, NO_PERMISSIONS");
}

Status ValidatePrincipalName(std::string_view field, std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return InvalidArgument(fmt::format("{} must be 1 to 64 characters", field));
  }
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) {
    return InvalidArgument(fmt::format("{} must start with a letter or a digit", field));
  }
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-')) {
      return InvalidArgument(
          fmt::format("{} may hold only letters, digits and . _ @ - (ASCII)", field));
    }
  }
  return OkStatus();
}

Status ValidateRoleName(std::string_view role) {
  if (role.empty() || role.size() > 64) return InvalidArgument("role must be 1 to 64 characters");
  if (!std::islower(static_cast<unsigned char>(role[0]))) {
    return InvalidArgument("role must start with a lower-case letter");
  }
  for (unsigned char c : role) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) {
      return InvalidArgument("role may hold only a-z, 0-9 and -");
    }
  }
  return OkStatus();
}

Status ValidateDisplayName(std::string_view display_name) {
  if (display_name.size() > 256) return InvalidArgument("display_name is longer than 256 bytes");
  if (!IsValidUtf8(display_name) || HasControlCharacter(display_name)) {
    return InvalidArgument("display_name must be UTF-8 text without control characters");
  }
  return OkStatus();
}

Status ValidateEmail(std::string_view email) {
  if (email.empty()) return OkStatus();
  if (email.size() > 256) return InvalidArgument("email is longer than 256 bytes");
  size_t at = email.find('@');
  if (!IsValidUtf8(email) || HasControlCharacter(email) || at == 0 ||
      at == std::string_view::npos || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string_view::npos ||
      email.find(' ') != std::string_view::npos) {
    return InvalidArgument("email must look like name@domain");
  }
  return OkStatus();
}

Status ValidatePassword(std::string_view password) {
  if (password.size() > 4 * 1024) return InvalidArgument("password is longer than 1024 characters");
  if (!IsValidUtf8(password) || password.find('\0') != std::string_view::npos) {
    return InvalidArgument("password must be UTF-8 without NUL");
  }
  // Characters, as the OpenAPI document's minLength and maxLength count them, not bytes.
  const size_t characters = CountCharacters(password);
  if (characters < 8) return InvalidArgument("password must be at least 8 characters");
  if (characters > 1024) return InvalidArgument("password is longer than 1024 characters");
  return OkStatus();
}

Status ValidateTokenName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return InvalidArgument("token name must be 1 to 128 bytes");
  }
  if (!IsValidUtf8(name) || HasControlCharacter(name)) {
    return InvalidArgument("token name must be UTF-8 text without control characters");
  }
  return OkStatus();
}

Status ValidateScope(std::string_view scope) {
  if (scope == kScopeFull || scope == kScopeRead) return OkStatus();
  return InvalidArgument("scope must be full or read");
}

}  // namespace vouch
