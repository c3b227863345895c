// users …, groups …, roles …, permissions …, tokens …, login, logout, whoami.
#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <string>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"

namespace vouch::cli {
namespace {

std::string UserPath(std::string_view name) { return "/api/v1/users/" + PathSegment(name); }
std::string GroupPath(std::string_view name) { return "/api/v1/groups/" + PathSegment(name); }

// Bound to the options of every identity subcommand; only the one that parsing selects is read.
struct IdentityArgs {
  std::string name;  // user, group, role or model, as the command's first word names it
  std::string second;
  std::string display_name;
  std::string email;
  std::string description;
  std::string user;
  std::string group;
  std::string permission;
  std::string scope;
  std::string expires_in;
  std::string expires_at;
  std::string owner;
  bool service_account = false;
  bool admin = false;
  bool no_admin = false;
  bool with_password = false;
  bool current = false;
  bool all = false;
  // Options whose presence matters even when empty (`--email ""` clears the address).
  CLI::Option* display_name_opt = nullptr;
  CLI::Option* email_opt = nullptr;
};

// "users/alice" or "groups/ml": the one grantee --user or --group names.
Result<std::string> GranteeSegment(const IdentityArgs& a) {
  if (a.user.empty() == a.group.empty())
    return InvalidArgument("give exactly one of --user, --group");
  return a.user.empty() ? "groups/" + PathSegment(a.group) : "users/" + PathSegment(a.user);
}

Result<Prompter*> PrompterOf(Session& s) {
  if (s.env() == nullptr || s.env()->prompter == nullptr) {
    return InvalidArgument("no terminal or standard input to read a password from");
  }
  return s.env()->prompter;
}

// A new password: asked twice at a terminal (without echo), else one line of standard input.
Result<std::string> ReadNewPassword(Session& s, std::string_view whose) {
  VOUCH_ASSIGN_OR_RETURN(Prompter * p, PrompterOf(s));
  VOUCH_ASSIGN_OR_RETURN(std::string password,
                         p->ReadLine(fmt::format("New password for {}: ", whose), true));
  if (password.empty()) return InvalidArgument("the password is empty");
  if (p->interactive()) {
    VOUCH_ASSIGN_OR_RETURN(std::string again, p->ReadLine("Repeat the new password: ", true));
    if (again != password) return InvalidArgument("the two passwords differ; nothing was changed");
  }
  return password;
}

Result<HttpRequest> CreateUserRequest(Session& s, const IdentityArgs& a) {
  json::object body{{"name", a.name}, {"kind", a.service_account ? "service_account" : "user"}};
  if (!a.display_name.empty()) body["display_name"] = a.display_name;
  if (!a.email.empty()) body["email"] = a.email;
  if (a.admin) body["is_admin"] = true;
  if (a.with_password) {
    VOUCH_ASSIGN_OR_RETURN(std::string password, ReadNewPassword(s, a.name));
    body["password"] = password;
  }
  return WithBody("POST", "/api/v1/users", body);
}

Result<HttpRequest> UpdateUserRequest(const IdentityArgs& a) {
  json::object body;
  if (a.display_name_opt->count() > 0) body["display_name"] = a.display_name;
  if (a.email_opt->count() > 0) body["email"] = a.email;
  if (a.admin) body["is_admin"] = true;
  if (a.no_admin) body["is_admin"] = false;
  if (body.empty()) {
    return InvalidArgument(
        "nothing to change: give --display-name, --email, --admin or --no-admin");
  }
  return WithBody("PATCH", UserPath(a.name), body);
}

Result<HttpRequest> SetPasswordRequest(Session& s, const IdentityArgs& a) {
  json::object body;
  if (a.current) {
    VOUCH_ASSIGN_OR_RETURN(Prompter * p, PrompterOf(s));
    VOUCH_ASSIGN_OR_RETURN(std::string current, p->ReadLine("Current password: ", true));
    body["current_password"] = current;
  }
  VOUCH_ASSIGN_OR_RETURN(std::string password, ReadNewPassword(s, a.name));
  body["password"] = password;
  return WithBody("PUT", UserPath(a.name) + "/password", body);
}

Result<HttpRequest> CreateTokenRequest(const IdentityArgs& a) {
  json::object body{{"name", a.name}};
  if (!a.scope.empty()) body["scope"] = a.scope;
  if (!a.expires_in.empty()) body["expires_in"] = a.expires_in;
  if (!a.expires_at.empty()) body["expires_at"] = a.expires_at;
  if (!a.owner.empty()) body["owner"] = a.owner;
  return WithBody("POST", "/api/v1/tokens", body);
}

Result<HttpRequest> ListTokensRequest(const IdentityArgs& a) {
  if (a.all && !a.owner.empty()) return InvalidArgument("give --owner or --all, not both");
  std::vector<std::pair<std::string, std::string>> query;
  if (a.all) query.emplace_back("owner", "*");
  if (!a.owner.empty()) query.emplace_back("owner", a.owner);
  return Get("/api/v1/tokens" + QueryString(query));
}

Result<HttpRequest> RoleRequest(const IdentityArgs& a, std::string method) {
  VOUCH_ASSIGN_OR_RETURN(std::string grantee, GranteeSegment(a));
  return HttpRequest{std::move(method), "/api/v1/roles/" + PathSegment(a.name) + "/" + grantee,
                     std::nullopt};
}

Result<HttpRequest> PermissionRequest(const IdentityArgs& a, bool grant) {
  VOUCH_ASSIGN_OR_RETURN(std::string grantee, GranteeSegment(a));
  const std::string path = ModelPath(a.name) + "/permissions/" + grantee;
  if (!grant) {
    if (!a.permission.empty()) {
      return InvalidArgument("revoke takes no PERMISSION: it removes the grant, whatever it is");
    }
    return Delete(path);
  }
  if (a.permission.empty()) {
    return InvalidArgument("grant needs a PERMISSION: READ, USE, EDIT, MANAGE or NO_PERMISSIONS");
  }
  return WithBody("PUT", path, {{"permission", a.permission}});
}

std::string Hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "an unnamed host";
  return name;
}

// After a login: a credential in the environment beats the saved login (docs/cli.md), so say so
// rather than let later commands run as someone else.
void WarnOfAmbientCredentials(const ClientEnv& env, std::string_view username, std::ostream& err) {
  if (!env.env_token.empty()) {
    err << fmt::format(
        "vouch: warning: VOUCH_TOKEN is set in your environment and wins over the login just "
        "saved: later commands run as whoever that token belongs to, not {}. Run `unset "
        "VOUCH_TOKEN` to use this login (`vouch whoami` shows which credential is used).\n",
        username);
  } else if (!env.env_username.empty()) {
    err << fmt::format(
        "vouch: warning: VOUCH_USERNAME is set in your environment and wins over the login just "
        "saved: later commands sign in as {} with a password instead. Run `unset VOUCH_USERNAME` "
        "to use this login.\n",
        env.env_username);
  }
}

// `vouch whoami`: who the server takes the credential for, and where the credential came from.
int Whoami(Session& s) {
  Session::Reply reply = s.Fetch(Get("/api/v1/whoami"));
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (json::object* o = reply.body.if_object(); o != nullptr && s.env() != nullptr) {
    (*o)["credential"] = DescribeCredential(s.credential_source(), *s.env());
  }
  PrintObject(reply.body, s.format(), s.out());
  return kExitOk;
}

// Signs in with a username and password, has the server issue a token named after this host, and
// saves it for the server; the password itself is never stored.
int Login(Session& s) {
  const ClientEnv* env = s.env();
  if (env == nullptr || env->prompter == nullptr) return s.Fail("login needs a server", kExitUsage);
  if (env->credentials.empty()) {
    return s.Fail("cannot tell where to keep credentials: set HOME or XDG_CONFIG_HOME", kExitUsage);
  }
  const std::string& server = env->options.server;
  Prompter& prompter = *env->prompter;
  ClientOptions basic = env->options;
  basic.token.clear();
  if (basic.username.empty()) basic.username = env->env_username;
  if (basic.username.empty()) {
    if (!prompter.interactive()) {
      return s.Fail("give --username (or VOUCH_USERNAME) when standard input is not a terminal",
                    kExitUsage);
    }
    Result<std::string> user = prompter.ReadLine(fmt::format("Username for {}: ", server), false);
    if (!user.ok()) return s.Fail(user.status().message(), kExitUsage);
    basic.username = *user;
  }
  if (basic.username.empty()) return s.Fail("the username is empty", kExitUsage);
  if (basic.password.empty()) {
    Result<std::string> password =
        prompter.ReadLine(fmt::format("Password for {}: ", basic.username), true);
    if (!password.ok()) return s.Fail(password.status().message(), kExitUsage);
    basic.password = *password;
  }

  if (env->verbose) {
    s.err() << "vouch: credential: " << basic.username << "'s password, to log in\n";
  }
  std::unique_ptr<HttpTransport> transport = env->make_transport(basic);
  Session as_user(*transport, s.format(), s.out(), s.err());
  const std::string token_name = "cli on " + Hostname();
  Session::Reply issued = as_user.Fetch(WithBody("POST", "/api/v1/tokens", {{"name", token_name}}));
  if (issued.exit_code != kExitOk) return issued.exit_code;
  const json::object* o = issued.body.if_object();
  const json::value* token = o ? o->if_contains("token") : nullptr;
  const json::value* id = o ? o->if_contains("id") : nullptr;
  const json::value* owner = o ? o->if_contains("owner") : nullptr;
  if (token == nullptr || !token->is_string() || id == nullptr || !id->is_int64() ||
      owner == nullptr || !owner->is_string()) {
    return s.Fail("the server's answer to POST /api/v1/tokens has no token", kExitRefused);
  }
  const SavedLogin login{.server = server,
                         .username = std::string(owner->get_string()),
                         .token = std::string(token->get_string()),
                         .token_id = id->get_int64()};
  Result<std::optional<SavedLogin>> previous = LoadLogin(env->credentials, server);
  if (Status saved = SaveLogin(env->credentials, login); !saved.ok()) {
    // A token nobody holds is of no use to anyone: take it back.
    as_user.Fetch(Delete(fmt::format("/api/v1/tokens/{}", login.token_id)));
    return s.Fail(fmt::format("{}; the new token was revoked", saved.message()), kExitRefused);
  }
  if (previous.ok() && previous->has_value() && (*previous)->token_id != login.token_id) {
    // The token this login replaces is forgotten here; revoke it too (best effort: it may be gone).
    ClientOptions old = env->options;
    old.token = (*previous)->token;
    old.username.clear();
    old.password.clear();
    (void)env->make_transport(old)->Send(
        Delete(fmt::format("/api/v1/tokens/{}", (*previous)->token_id)));
  }
  PrintObject(json::object{{"server", server},
                           {"username", login.username},
                           {"token_id", login.token_id},
                           {"token_name", token_name},
                           {"credentials", env->credentials.string()}},
              s.format(), s.out());
  WarnOfAmbientCredentials(*env, login.username, s.err());
  return kExitOk;
}

// Revokes the saved token for the server and forgets it. A token the server no longer accepts
// (401, 404) is forgotten as well; when the server cannot be reached, the login is kept.
int Logout(Session& s) {
  const ClientEnv* env = s.env();
  if (env == nullptr) return s.Fail("logout needs a server", kExitUsage);
  if (env->credentials.empty()) {
    return s.Fail("cannot tell where credentials are kept: set HOME or XDG_CONFIG_HOME",
                  kExitUsage);
  }
  const std::string& server = env->options.server;
  Result<std::optional<SavedLogin>> saved = LoadLogin(env->credentials, server);
  if (!saved.ok()) return s.Fail(saved.status().message(), kExitUsage);
  if (!saved->has_value()) return s.Fail(fmt::format("not logged in to {}", server), kExitRefused);
  const SavedLogin& login = **saved;
  if (env->verbose) {
    s.err() << "vouch: credential: " << DescribeCredential(CredentialSource::kSavedLogin, *env)
            << ", to log out\n";
  }
  ClientOptions options = env->options;
  options.token = login.token;
  options.username.clear();
  options.password.clear();
  Result<HttpResponse> answer =
      env->make_transport(options)->Send(Delete(fmt::format("/api/v1/tokens/{}", login.token_id)));
  if (!answer.ok()) {
    return s.Fail(fmt::format("{}; still logged in", answer.status().message()),
                  ExitCodeForTransportFailure(answer.status()));
  }
  const bool revoked = answer->status == 204;
  if (!revoked && answer->status != 401 && answer->status != 404) {
    return s.Fail(fmt::format("{}; still logged in", RefusalMessage(*answer)), kExitRefused);
  }
  if (Status removed = RemoveLogin(env->credentials, server); !removed.ok()) {
    return s.Fail(removed.message(), kExitRefused);
  }
  PrintObject(json::object{{"server", server},
                           {"username", login.username},
                           {"token_id", login.token_id},
                           {"revoked", revoked}},
              s.format(), s.out());
  return kExitOk;
}

void AddUserCommands(CLI::App& app, Action& chosen, const std::shared_ptr<IdentityArgs>& a) {
  CLI::App* users = app.add_subcommand("users", "Manage users and service accounts");
  users->require_subcommand(1);

  CLI::App* create = users->add_subcommand("create", "Create a user or service account (admins)");
  create->add_option("NAME", a->name, "Username")->required();
  create->add_flag("--service-account", a->service_account, "A service account, not a person");
  create->add_option("--display-name", a->display_name, "The name shown for it");
  create->add_option("--email", a->email, "E-mail address");
  create->add_flag("--admin", a->admin, "Make it an admin");
  create->add_flag("--with-password", a->with_password,
                   "Set a password, read like login reads it (asked twice at a terminal, else "
                   "one line of standard input)");
  OnSelect(*create, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(CreateUserRequest(s, *a), UserColumns());
  });

  CLI::App* list = users->add_subcommand("list", "List users and service accounts");
  OnSelect(*list, chosen, [](Session& s, const Clock&) {
    return s.RunItems(Get("/api/v1/users"), "users", UserColumns());
  });

  CLI::App* get = users->add_subcommand("get", "Show one principal with its roles and groups");
  get->add_option("NAME", a->name, "Username")->required();
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(Get(UserPath(a->name)), UserColumns());
  });

  CLI::App* update = users->add_subcommand("update", "Change a principal's details");
  update->add_option("NAME", a->name, "Username")->required();
  a->display_name_opt = update->add_option("--display-name", a->display_name, "New display name");
  a->email_opt = update->add_option("--email", a->email, "New e-mail address (\"\" clears it)");
  auto* admin = update->add_flag("--admin", a->admin, "Make it an admin (admins only)");
  update->add_flag("--no-admin", a->no_admin, "Make it no longer an admin (admins only)")
      ->excludes(admin);
  OnSelect(*update, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(UpdateUserRequest(*a), UserColumns());
  });

  for (const bool disable : {true, false}) {
    CLI::App* cmd = users->add_subcommand(
        disable ? "disable" : "enable",
        disable ? "Disable a principal: its tokens and password stop working (admins)"
                : "Enable a disabled principal again (admins)");
    cmd->add_option("NAME", a->name, "Username")->required();
    OnSelect(*cmd, chosen, [a, disable](Session& s, const Clock&) {
      return s.RunObject(WithBody("PATCH", UserPath(a->name), {{"disabled", disable}}),
                         UserColumns());
    });
  }

  CLI::App* remove = users->add_subcommand("delete", "Delete a principal (admins)");
  remove->add_option("NAME", a->name, "Username")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(
        Delete(UserPath(a->name)),
        {fmt::format("Deleted {}.", a->name), json::object{{"user", a->name}, {"deleted", true}}});
  });

  CLI::App* password = users->add_subcommand(
      "set-password",
      "Set a password, read like login reads it (admins: anyone's; others: their own, with "
      "--current)");
  password->add_option("NAME", a->name, "Username")->required();
  password->add_flag("--current", a->current,
                     "Ask for the current password first (needed to change your own)");
  OnSelect(*password, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(SetPasswordRequest(s, *a),
                      {fmt::format("Set the password of {}.", a->name),
                       json::object{{"user", a->name}, {"password_set", true}}});
  });
}

void AddGroupCommands(CLI::App& app, Action& chosen, const std::shared_ptr<IdentityArgs>& a) {
  CLI::App* groups = app.add_subcommand("groups", "Manage groups of principals");
  groups->require_subcommand(1);

  CLI::App* create = groups->add_subcommand("create", "Create a group (admins)");
  create->add_option("NAME", a->name, "Group name")->required();
  create->add_option("--description", a->description, "What the group is");
  OnSelect(*create, chosen, [a](Session& s, const Clock&) {
    json::object body{{"name", a->name}};
    if (!a->description.empty()) body["description"] = a->description;
    return s.RunObject(WithBody("POST", "/api/v1/groups", body), GroupColumns());
  });

  CLI::App* list = groups->add_subcommand("list", "List groups");
  OnSelect(*list, chosen, [](Session& s, const Clock&) {
    return s.RunItems(Get("/api/v1/groups"), "groups", GroupColumns());
  });

  CLI::App* get = groups->add_subcommand("get", "Show a group with its members and roles");
  get->add_option("NAME", a->name, "Group name")->required();
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(Get(GroupPath(a->name)), GroupColumns());
  });

  CLI::App* remove = groups->add_subcommand("delete", "Delete a group (admins)");
  remove->add_option("NAME", a->name, "Group name")->required();
  OnSelect(*remove, chosen, [a](Session& s, const Clock&) {
    return s.RunWrite(Delete(GroupPath(a->name)),
                      {fmt::format("Deleted group {}.", a->name),
                       json::object{{"group", a->name}, {"deleted", true}}});
  });

  for (const bool add : {true, false}) {
    CLI::App* cmd = groups->add_subcommand(
        add ? "add-member" : "remove-member",
        add ? "Add a principal to a group (admins)" : "Remove a principal from a group (admins)");
    cmd->add_option("GROUP", a->name, "Group name")->required();
    cmd->add_option("USER", a->second, "Username")->required();
    OnSelect(*cmd, chosen, [a, add](Session& s, const Clock&) {
      const std::string path = GroupPath(a->name) + "/members/" + PathSegment(a->second);
      return s.RunWrite(
          HttpRequest{add ? "PUT" : "DELETE", path, std::nullopt},
          {add ? fmt::format("Added {} to group {}.", a->second, a->name)
               : fmt::format("Removed {} from group {}.", a->second, a->name),
           json::object{
               {"group", a->name}, {"member", a->second}, {add ? "added" : "removed", true}}});
    });
  }
}

void AddRoleAndPermissionCommands(CLI::App& app, Action& chosen,
                                  const std::shared_ptr<IdentityArgs>& a) {
  CLI::App* roles = app.add_subcommand("roles", "Grant and revoke roles (admins)");
  roles->require_subcommand(1);
  for (const bool grant : {true, false}) {
    CLI::App* cmd = roles->add_subcommand(
        grant ? "grant" : "revoke",
        grant ? "Grant a role to a user or a group" : "Revoke a role from a user or a group");
    cmd->add_option("ROLE", a->name, "Role, e.g. auditor, ml-engineer")->required();
    cmd->add_option("--user", a->user, "The user");
    cmd->add_option("--group", a->group, "The group");
    OnSelect(*cmd, chosen, [a, grant](Session& s, const Clock&) {
      const std::string kind = a->user.empty() ? "group" : "user";
      const std::string& who = a->user.empty() ? a->group : a->user;
      return s.RunWrite(RoleRequest(*a, grant ? "PUT" : "DELETE"),
                        {grant ? fmt::format("Granted role {} to {} {}.", a->name, kind, who)
                               : fmt::format("Revoked role {} from {} {}.", a->name, kind, who),
                         json::object{{"role", a->name},
                                      {"grantee_kind", kind},
                                      {"grantee", who},
                                      {grant ? "granted" : "revoked", true}}});
    });
  }
  CLI::App* list_roles =
      roles->add_subcommand("list", "List every role grant (admins and auditors)");
  OnSelect(*list_roles, chosen, [](Session& s, const Clock&) {
    return s.RunItems(Get("/api/v1/roles"), "roles", RoleGrantColumns());
  });

  CLI::App* permissions =
      app.add_subcommand("permissions", "Grant and revoke permissions on a model (MANAGE on it)");
  permissions->require_subcommand(1);
  for (const bool grant : {true, false}) {
    CLI::App* cmd = permissions->add_subcommand(
        grant ? "grant" : "revoke",
        grant ? "Give a user or group a permission on a model: READ, USE, EDIT, MANAGE or "
                "NO_PERMISSIONS"
              : "Remove a user's or group's permission on a model");
    cmd->add_option("MODEL", a->name, "Model name")->required();
    if (grant) cmd->add_option("PERMISSION", a->permission, "READ, USE, EDIT, MANAGE, ...");
    cmd->add_option("--user", a->user, "The user");
    cmd->add_option("--group", a->group, "The group");
    OnSelect(*cmd, chosen, [a, grant](Session& s, const Clock&) {
      const std::string kind = a->user.empty() ? "group" : "user";
      const std::string& who = a->user.empty() ? a->group : a->user;
      return s.RunWrite(
          PermissionRequest(*a, grant),
          // A grant is answered with the permission it made (printed as it is); the sentence
          // and object are for the 204 a revoke gets.
          {grant
               ? fmt::format("Granted {} on model {} to {} {}.", a->permission, a->name, kind, who)
               : fmt::format("Revoked the permission of {} {} on model {}.", kind, who, a->name),
           json::object{{"model", a->name},
                        {"grantee_kind", kind},
                        {"grantee", who},
                        {grant ? "granted" : "revoked", true}}},
          PermissionColumns());
    });
  }
  CLI::App* list = permissions->add_subcommand("list", "List the permissions granted on a model");
  list->add_option("MODEL", a->name, "Model name")->required();
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    return s.RunItems(Get(ModelPath(a->name) + "/permissions"), "permissions", PermissionColumns());
  });
}

void AddTokenCommands(CLI::App& app, Action& chosen, const std::shared_ptr<IdentityArgs>& a) {
  CLI::App* tokens = app.add_subcommand("tokens", "Issue, list and revoke API tokens");
  tokens->require_subcommand(1);

  CLI::App* create =
      tokens->add_subcommand("create", "Issue a token; it is printed this once, keep it safe");
  create->add_option("NAME", a->name, "What the token is for, e.g. \"ci on build-7\"")->required();
  create->add_option("--scope", a->scope, "full (default) or read (nothing above READ)");
  auto* in = create->add_option("--expires-in", a->expires_in, "Lifetime, e.g. 30d, 12h");
  create->add_option("--expires-at", a->expires_at, "Expiry as an RFC 3339 time")->excludes(in);
  create->add_option("--owner", a->owner, "Issue it for another principal (admins)");
  OnSelect(*create, chosen, [a](Session& s, const Clock&) {
    return s.Run(CreateTokenRequest(*a), Display::kObject);
  });

  CLI::App* list = tokens->add_subcommand("list", "List your tokens (never the tokens themselves)");
  list->add_option("--owner", a->owner, "Another principal's (admins and auditors)");
  list->add_flag("--all", a->all, "Everyone's (admins and auditors)");
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    return s.RunItems(ListTokensRequest(*a), "tokens", TokenColumns());
  });

  CLI::App* revoke = tokens->add_subcommand("revoke", "Revoke a token by its id");
  revoke->add_option("ID", a->name, "Token id (tokens list shows it)")->required();
  OnSelect(*revoke, chosen, [a](Session& s, const Clock&) -> int {
    Result<int64_t> id = ParsePositiveInt(a->name, "token id");
    if (!id.ok()) return s.Fail(id.status().message(), kExitUsage);
    return s.RunWrite(Delete(fmt::format("/api/v1/tokens/{}", *id)),
                      {fmt::format("Revoked token {}.", *id),
                       json::object{{"token_id", *id}, {"revoked", true}}});
  });
}

}  // namespace

void AddIdentityCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<IdentityArgs>();
  AddUserCommands(app, chosen, a);
  AddGroupCommands(app, chosen, a);
  AddRoleAndPermissionCommands(app, chosen, a);
  AddTokenCommands(app, chosen, a);

  CLI::App* login = app.add_subcommand(
      "login", "Sign in with a username and password and save a token for this server");
  login->footer(
      "The username comes from --username or VOUCH_USERNAME (else it is asked for at a "
      "terminal), the password from --password or VOUCH_PASSWORD (else asked for, or one line of "
      "standard input). The token is saved in $XDG_CONFIG_HOME/vouch/credentials (or "
      "~/.config/vouch/credentials), mode 0600.\n"
      "Later commands use the saved token only when nothing beats it: --token, then --username, "
      "then VOUCH_TOKEN, then VOUCH_USERNAME, then the saved login (an empty variable counts as "
      "unset). login warns when VOUCH_TOKEN or VOUCH_USERNAME is set, since either would win over "
      "the login it saves; `vouch whoami` says which credential is used.");
  OnSelect(*login, chosen, [](Session& s, const Clock&) { return Login(s); });
  CLI::App* logout =
      app.add_subcommand("logout", "Revoke the token login saved for this server and forget it");
  OnSelect(*logout, chosen, [](Session& s, const Clock&) { return Logout(s); });

  CLI::App* whoami = app.add_subcommand(
      "whoami", "Show who the server takes you for, and which credential says so");
  OnSelect(*whoami, chosen, [](Session& s, const Clock&) { return Whoami(s); });
}

}  // namespace vouch::cli
