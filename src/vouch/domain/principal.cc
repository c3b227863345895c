#include "vouch/domain/principal.h"

#include <algorithm>

namespace vouch {

std::string_view PrincipalKindName(PrincipalKind k) {
  return k == PrincipalKind::kUser ? "user" : "service_account";
}

bool Principal::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::string_view AuthMethodName(AuthMethod m) {
  switch (m) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kToken:
      return "token";
    case AuthMethod::kPassword:
      return "password";
    case AuthMethod::kSigV4:
      return "sigv4";
    case AuthMethod::kSession:
      return "session";
    case AuthMethod::kSystem:
      return "system";
  }
  return "none";
}

std::string_view DoorName(Door d) {
  switch (d) {
    case Door::kNative:
      return "native";
    case Door::kMlflow:
      return "mlflow";
    case Door::kSageMaker:
      return "sagemaker";
    case Door::kCli:
      return "cli";
    case Door::kUi:
      return "ui";
    case Door::kSystem:
      return "system";
  }
  return "native";
}

RequestContext SystemContext(const Clock& clock) {
  RequestContext ctx;
  ctx.principal = Principal{
      .id = 0, .name = "system", .kind = PrincipalKind::kServiceAccount, .is_admin = true};
  ctx.auth = AuthMethod::kSystem;
  ctx.door = Door::kSystem;
  ctx.clock = &clock;
  return ctx;
}

}  // namespace vouch
