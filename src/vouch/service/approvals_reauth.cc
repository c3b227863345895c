// Re-authentication for signatures (`reauth: true`, issue 12): a review under such a policy is
// signed only by someone who proved their password in the very call, and under their display
// name. The password is checked by the sign-in code (AuthService::AuthenticatePassword), so a
// wrong one counts toward the same throttle as a failed sign-in; it is never kept anywhere.
#include <fmt/format.h>

#include "vouch/service/approvals.h"

namespace vouch::service {

Result<bool> ApprovalService::Reauthenticate(const RequestContext& ctx, const ReviewArgs& args) {
  if (args.password.empty()) {
    // HTTP Basic (how MLflow clients authenticate) checked the password for this call.
    return ctx.principal && ctx.auth == AuthMethod::kPassword;
  }
  if (!ctx.principal) return Unauthenticated("re-authentication needs an authenticated caller");
  // A password that is given is always checked, even where no policy asks for it: a wrong one is
  // never ignored.
  if (auth_ == nullptr) {
    return FailedPrecondition("this server cannot check a signer's password");
  }
  const std::string& name = ctx.principal->name;
  Result<service::Authenticated> who =
      auth_->AuthenticatePassword(name, args.password, ctx.address);
  if (!who.ok()) {
    if (who.status().code() != StatusCode::kUnauthenticated) return who.status();
    return Status(StatusCode::kReauthFailed,
                  fmt::format("re-authentication failed: wrong password for {} (or none is set: "
                              "`vouch users set-password {}`)",
                              name, name));
  }
  // The name may have passed to another principal since the caller's token was issued.
  if (who->principal.id != ctx.principal->id) {
    return Status(StatusCode::kReauthFailed,
                  fmt::format("re-authentication failed: the password is not {}'s", name));
  }
  return true;
}

Status ApprovalService::CheckSignature(const policy::Policy& p, const policy::Person& signer,
                                       bool reauthenticated) {
  if (!p.reauth) return OkStatus();
  if (signer.display_name.empty()) {
    return FailedPrecondition(fmt::format(
        "policy {} signs reviews under the signer's display name, and {} has none: set one with "
        "`vouch users update {} --display-name \"Full Name\"`",
        p.name, signer.username, signer.username));
  }
  if (!reauthenticated) {
    return Status(StatusCode::kReauthRequired,
                  fmt::format("policy {} requires re-authentication to sign: send your password "
                              "with the review (`password`; the CLI asks for it, or reads it "
                              "with --password-stdin) or sign in with a username and password",
                              p.name));
  }
  return OkStatus();
}

}  // namespace vouch::service
