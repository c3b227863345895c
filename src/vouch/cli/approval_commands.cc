// policy apply | list | get | history | diff | retire | test, requests create | approve | reject |
// cancel | apply | list | show | wait, checks post | list, gate check (issue 12; docs/approvals.md,
// docs/ci.md).
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"

namespace vouch::cli {
namespace {

// `vouch gate check`: the newest request for the version and target decides (docs/cli.md).
constexpr int kExitPending = 10;
constexpr int kExitRejected = 11;
constexpr int kExitExpired = 12;
constexpr int kExitClosed = 13;     // cancelled or superseded
constexpr int kExitNoRequest = 14;  // gated, and no request for that target

// The exit code of `gate check` for a gate status, which `requests wait` shares: 0 the version
// may enter now or holds the target (or nothing gates it), else as the constants above.
int GateExit(std::string_view status) {
  if (status == "pending") return kExitPending;
  if (status == "rejected") return kExitRejected;
  if (status == "expired") return kExitExpired;
  if (status == "cancelled" || status == "superseded") return kExitClosed;
  if (status == "no_request") return kExitNoRequest;
  return kExitOk;
}

// A request's state as the gate status `gate check` would give for it.
std::string_view GateStatusOfRequest(std::string_view state) {
  if (state == "open") return "pending";
  if (state == "approved") return "may_enter";
  if (state == "applied") return "holds";
  return state;  // rejected, expired, cancelled, superseded
}

// Bound to the options of every subcommand here; only the one that parsing selects is read.
struct ApprovalArgs {
  std::string file;
  std::string name;
  int64_t policy_version = 0;
  bool include_retired = false;
  std::string model;
  std::string version;
  std::string to;
  std::string comment;
  std::string meaning = "approved";
  std::string fingerprint;
  bool password_stdin = false;
  std::string id;
  bool mine = false;
  bool to_review = false;
  std::string state;
  std::string check;
  std::string url;
  std::string description;
  std::string from_version;  // policy diff
  std::string to_version;
  bool break_glass = false;
  std::string reason;
  bool followups = false;
  std::string leave;
  std::string timeout = "30m";
};

std::vector<Column> PolicyColumns() {
  return {
      TextColumn("name"),
      TextColumn("version"),
      TextColumn("target"),
      Column{"RETIRED", [](const json::object& o) { return CellText(o.at("retired")); }, "retired"},
      TimeColumn("creation_timestamp", "CREATED"),
      TextColumn("digest")};
}

std::vector<Column> RequestColumns() {
  return {TextColumn("id"),      TextColumn("model"),
          TextColumn("version"), TextColumn("target"),
          TextColumn("state"),   TextColumn("requester"),
          TextColumn("policy"),  TimeColumn("creation_timestamp", "CREATED")};
}

std::vector<Column> CheckColumns() {
  return {TextColumn("name"),    TextColumn("state"),
          TextColumn("version"), TimeColumn("creation_timestamp", "POSTED"),
          TextColumn("url"),     TextColumn("description")};
}

// The policies file named by -f ("-" reads standard input).
Result<std::string> ReadPolicyFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(fmt::format("cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<HttpRequest> RequestAction(const ApprovalArgs& a, std::string_view verb, json::object body) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParsePositiveInt(a.id, "request id"));
  return WithBody("POST", fmt::format("/api/v1/requests/{}/{}", id, verb), body);
}

json::object ReviewBody(const ApprovalArgs& a) {
  json::object body;
  if (!a.comment.empty()) body["comment"] = a.comment;
  if (!a.meaning.empty()) body["meaning"] = a.meaning;
  if (!a.fingerprint.empty()) body["fingerprint"] = a.fingerprint;
  return body;
}

// `requests approve|reject`. Under a policy with `reauth: true` the server wants the signer's
// password with the review: read from standard input up front with --password-stdin; otherwise,
// when the server answers REAUTH_REQUIRED and a person is at the terminal, asked for there
// (without echo) and the review sent once more. The password is never printed.
int Review(Session& s, const ApprovalArgs& a, std::string_view verb) {
  json::object body = ReviewBody(a);
  Prompter* prompter = s.env() != nullptr ? s.env()->prompter : nullptr;
  auto read_password = [&](std::string_view prompt) -> Result<std::string> {
    if (prompter == nullptr) return InvalidArgument("no terminal or standard input to read from");
    VOUCH_ASSIGN_OR_RETURN(std::string password, prompter->ReadLine(prompt, true));
    if (password.empty()) return InvalidArgument("the password is empty");
    return password;
  };
  if (a.password_stdin) {
    Result<std::string> password = read_password("Password: ");
    if (!password.ok()) return s.Fail(password.status().message(), kExitUsage);
    body["password"] = *password;
    return s.RunObject(RequestAction(a, verb, std::move(body)), RequestColumns());
  }
  Result<HttpRequest> request = RequestAction(a, verb, body);
  if (!request.ok()) return s.Fail(request.status().message(), kExitUsage);
  Session::Reply reply = s.FetchHandling(*request, "REAUTH_REQUIRED");
  if (reply.error_code == "REAUTH_REQUIRED") {
    if (prompter == nullptr || !prompter->interactive()) {
      return s.Fail(fmt::format("REAUTH_REQUIRED: request {}'s policy requires your password to "
                                "sign; give it on standard input with --password-stdin",
                                a.id),
                    kExitRefused);
    }
    Result<std::string> password =
        read_password(fmt::format("Password to sign request {} (re-authentication): ", a.id));
    if (!password.ok()) return s.Fail(password.status().message(), kExitUsage);
    body["password"] = *password;
    return s.RunObject(RequestAction(a, verb, std::move(body)), RequestColumns());
  }
  if (reply.exit_code != kExitOk) return reply.exit_code;
  const std::vector<Column> columns = RequestColumns();
  if (!reply.body.is_null()) PrintObject(reply.body, s.format(), s.out(), &columns);
  return kExitOk;
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? "" : CellText(*v);
}

// The evaluator's answer as people read it: outcome, each rule with who counted, checks,
// conditions, and what still blocks.
void PrintEvaluation(const json::object& e, std::ostream& out) {
  out << "decision: " << Str(e, "outcome")
      << (e.at("may_enter").as_bool() ? " (may enter now)" : "") << "\n";
  if (const auto* p = e.if_contains("policy")) out << "policy: " << CellText(*p);
  if (const auto* v = e.if_contains("policy_version")) out << " version " << CellText(*v);
  if (e.contains("policy")) out << "\n";
  out << "fingerprint: " << Str(e, "fingerprint") << "\n";
  for (const auto& r : e.at("rules").as_array()) {
    const auto& rule = r.as_object();
    out << (rule.at("satisfied").as_bool() ? "  [x] " : "  [ ] ") << Str(rule, "rule");
    if (!rule.at("counted").as_array().empty()) out << "; counted: " << Str(rule, "counted");
    if (!rule.at("could_count").as_array().empty()) {
      out << "; could count: " << Str(rule, "could_count");
    }
    out << "\n";
  }
  for (const auto& c : e.at("checks").as_array()) {
    const auto& check = c.as_object();
    out << (check.at("passed").as_bool() ? "  [x] check " : "  [ ] check ") << Str(check, "name")
        << ": " << Str(check, "status") << "\n";
  }
  for (const auto& c : e.at("conditions").as_array()) {
    const auto& cond = c.as_object();
    out << (cond.at("holds").as_bool() ? "  [x] " : "  [ ] ") << Str(cond, "condition");
    std::string actual;
    for (const auto& cl : cond.at("clauses").as_array()) {
      const auto& clause = cl.as_object();
      if (!actual.empty()) actual += ", ";
      actual += clause.at("actual").is_null() ? "missing" : CellText(clause.at("actual"));
    }
    out << " (actual: " << actual << ")\n";
  }
  for (const auto& r : e.at("reviews").as_array()) {
    const auto& review = r.as_object();
    out << "  review by " << Str(review, "reviewer") << ": " << Str(review, "status");
    if (review.contains("rule")) out << " (rule " << Str(review, "rule") << ")";
    if (review.contains("detail")) out << " (" << Str(review, "detail") << ")";
    out << "\n";
  }
  for (const auto& b : e.at("blockers").as_array()) out << "  blocked: " << CellText(b) << "\n";
}

// A request as `requests show` prints it: its fields, its reviews, the evaluation.
int PrintRequest(Session& s, const Result<HttpRequest>& request) {
  if (!request.ok()) return s.Fail(request.status().message(), kExitUsage);
  Session::Reply reply = s.Fetch(*request);
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (s.format() != OutputFormat::kTable || !reply.body.is_object()) {
    std::vector<Column> columns = RequestColumns();
    PrintObject(reply.body, s.format(), s.out(), &columns);
    return kExitOk;
  }
  const json::object& r = reply.body.as_object();
  json::object plain = r;
  plain.erase("reviews");
  plain.erase("evaluation");
  PrintObject(plain, OutputFormat::kTable, s.out());
  if (const auto* reviews = r.if_contains("reviews")) {
    s.out() << "reviews:\n";
    for (const auto& v : reviews->as_array()) {
      const auto& review = v.as_object();
      s.out() << "  " << Str(review, "printed_name") << " (" << Str(review, "reviewer")
              << "): " << Str(review, "decision") << " as " << Str(review, "meaning");
      if (review.contains("dismissed_timestamp")) {
        s.out() << ", dismissed: " << Str(review, "dismissed_reason");
      }
      if (!Str(review, "comment").empty()) s.out() << " \"" << Str(review, "comment") << "\"";
      s.out() << "\n";
    }
  }
  if (const auto* e = r.if_contains("evaluation")) PrintEvaluation(e->as_object(), s.out());
  return kExitOk;
}

void AddPolicyGroup(CLI::App& app, Action& chosen, const std::shared_ptr<ApprovalArgs>& a) {
  CLI::App* policy = app.add_subcommand("policy", "Approval policies as code (docs/approvals.md)");
  policy->require_subcommand(1);

  CLI::App* apply = policy->add_subcommand("apply", "Apply a policies file (admin)");
  apply->add_option("-f,--file", a->file, "The YAML policies file (- for standard input)")
      ->required();
  OnSelect(*apply, chosen, [a](Session& s, const Clock&) {
    Result<std::string> yaml = ReadPolicyFile(a->file);
    if (!yaml.ok()) return s.Fail(yaml.status().message(), kExitUsage);
    Session::Reply reply =
        s.Fetch(WithBody("POST", "/api/v1/policies", json::object{{"yaml", *yaml}}));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    const json::object& body = reply.body.as_object();
    for (const auto& w : body.at("warnings").as_array()) {
      s.err() << "vouch: warning: " << CellText(w) << "\n";
    }
    if (s.format() != OutputFormat::kTable) {
      PrintObject(reply.body, s.format(), s.out());
      return kExitOk;
    }
    for (const auto& p : body.at("policies").as_array()) {
      const auto& o = p.as_object();
      std::string change = Str(o, "change");
      s.out() << fmt::format("{} ({}): {}", Str(o, "name"), Str(o, "target"),
                             change == "unchanged" ? "unchanged, version " + Str(o, "version")
                                                   : change + " version " + Str(o, "version"));
      int64_t stale = o.at("requests_needing_approval").to_number<int64_t>();
      if (stale > 0) {
        s.out() << fmt::format("; {} open request{} will need fresh approvals", stale,
                               stale == 1 ? "" : "s");
      }
      s.out() << "\n";
    }
    return kExitOk;
  });

  CLI::App* list = policy->add_subcommand("list", "List the policies in force");
  list->add_flag("--include-retired", a->include_retired, "Also retired policies");
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    std::string path = "/api/v1/policies";
    if (a->include_retired) path += "?include_retired=true";
    Session::Reply reply = s.Fetch(Get(path));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    const json::object& body = reply.body.as_object();
    ListPrinter printer(s.format(), PolicyColumns(), s.out());
    for (const auto& p : body.at("policies").as_array()) printer.Add(p);
    printer.Finish();
    if (!body.at("gated").as_bool()) {
      s.err() << "vouch: no policy is in force: nothing is gated\n";
    }
    return kExitOk;
  });

  CLI::App* get = policy->add_subcommand("get", "Show a policy (its newest version by default)");
  get->add_option("NAME", a->name, "Policy name")->required();
  get->add_option("--version", a->policy_version, "That version");
  OnSelect(*get, chosen, [a](Session& s, const Clock&) {
    std::string path = "/api/v1/policies/" + PathSegment(a->name);
    if (a->policy_version > 0) path += fmt::format("/versions/{}", a->policy_version);
    return s.RunObject(Get(path), PolicyColumns());
  });

  CLI::App* history = policy->add_subcommand("history", "Every version of a policy");
  history->add_option("NAME", a->name, "Policy name")->required();
  OnSelect(*history, chosen, [a](Session& s, const Clock&) {
    return s.RunItems(Get("/api/v1/policies/" + PathSegment(a->name) + "/versions"), "versions",
                      PolicyColumns());
  });

  CLI::App* retire = policy->add_subcommand("retire", "Retire a policy (admin)");
  retire->add_option("NAME", a->name, "Policy name")->required();
  OnSelect(*retire, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(
        WithBody("POST", "/api/v1/policies/" + PathSegment(a->name) + "/retire", json::object{}),
        PolicyColumns());
  });

  CLI::App* diff = policy->add_subcommand("diff", "What changed between two versions of a policy");
  diff->add_option("NAME", a->name, "Policy name")->required();
  diff->add_option("V1", a->from_version, "The earlier version")->required();
  diff->add_option("V2", a->to_version, "The later version")->required();
  OnSelect(*diff, chosen, [a](Session& s, const Clock&) {
    Result<int64_t> from = ParsePositiveInt(a->from_version, "V1");
    if (!from.ok()) return s.Fail(from.status().message(), kExitUsage);
    Result<int64_t> to = ParsePositiveInt(a->to_version, "V2");
    if (!to.ok()) return s.Fail(to.status().message(), kExitUsage);
    Session::Reply reply = s.Fetch(Get(
        fmt::format("/api/v1/policies/{}/diff?from={}&to={}", PathSegment(a->name), *from, *to)));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    if (s.format() != OutputFormat::kTable) {
      PrintObject(reply.body, s.format(), s.out());
      return kExitOk;
    }
    const json::object& body = reply.body.as_object();
    const auto& before = body.at("from").as_object();
    const auto& after = body.at("to").as_object();
    s.out() << fmt::format("policy {}: version {} ({}) -> version {} ({})\n", Str(body, "policy"),
                           Str(before, "version"), Str(before, "digest"), Str(after, "version"),
                           Str(after, "digest"));
    const auto& changes = body.at("changes").as_array();
    if (changes.empty()) s.out() << "no change\n";
    for (const auto& c : changes) {
      const auto& change = c.as_object();
      auto side = [&](std::string_view key) -> std::string {
        const json::value* v = change.if_contains(key);
        return v == nullptr ? "(absent)" : SerializeJson(*v);
      };
      std::string path = Str(change, "path");
      s.out() << fmt::format("{}: {} -> {}\n", path.empty() ? "/" : path, side("before"),
                             side("after"));
    }
    return kExitOk;
  });

  CLI::App* test = policy->add_subcommand("test",
                                          "The decision a version would get under a file (applies "
                                          "nothing)");
  test->add_option("-f,--file", a->file, "The YAML policies file (- for standard input)")
      ->required();
  test->add_option("MODEL", a->model, "Model name")->required();
  test->add_option("VERSION", a->version, "Version number")->required();
  test->add_option("--to", a->to, "Target, e.g. stage:Production")->required();
  OnSelect(*test, chosen, [a](Session& s, const Clock&) {
    Result<std::string> yaml = ReadPolicyFile(a->file);
    if (!yaml.ok()) return s.Fail(yaml.status().message(), kExitUsage);
    Result<int64_t> version = ParsePositiveInt(a->version, "version");
    if (!version.ok()) return s.Fail(version.status().message(), kExitUsage);
    Session::Reply reply = s.Fetch(WithBody(
        "POST", "/api/v1/policy-test",
        json::object{
            {"yaml", *yaml}, {"model", a->model}, {"version", *version}, {"target", a->to}}));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    const json::object& body = reply.body.as_object();
    if (s.format() != OutputFormat::kTable) {
      PrintObject(reply.body, s.format(), s.out());
    } else if (!body.at("gated").as_bool()) {
      s.out() << fmt::format("{} is not gated for model {} under this file\n", a->to, a->model);
    } else {
      s.out() << "governed by: " << Str(body, "policy") << "\n";
      PrintEvaluation(body.at("evaluation").as_object(), s.out());
    }
    return kExitOk;
  });
}

// `requests wait`: long-polls GET /requests/{id}/wait (each hold at most 25 s) until the request
// leaves `open` or the timeout passes, then prints it and exits as `gate check` would.
int WaitForRequest(Session& s, const Clock& clock, const ApprovalArgs& a) {
  constexpr TimeMs kMaxHoldMs = 25'000;
  Result<int64_t> id = ParsePositiveInt(a.id, "request id");
  if (!id.ok()) return s.Fail(id.status().message(), kExitUsage);
  Result<TimeMs> timeout = ParseDurationMs(a.timeout);
  if (!timeout.ok() || *timeout <= 0) {
    return s.Fail(
        fmt::format("--timeout must be a duration such as 30s, 15m or 2h, not '{}'", a.timeout),
        kExitUsage);
  }
  const TimeMs deadline = clock.NowMs() + *timeout;
  std::vector<std::pair<std::string, std::string>> seen;  // what the last answer said
  while (true) {
    TimeMs left = deadline - clock.NowMs();
    // Whole seconds from 1 to 25: a last hold rounds up, so the wait may overrun by under 1 s.
    TimeMs hold_s = std::clamp<TimeMs>((std::min(left, kMaxHoldMs) + 999) / 1000, 1, 25);
    std::vector<std::pair<std::string, std::string>> query = seen;
    query.emplace_back("timeout", std::to_string(hold_s));
    Session::Reply reply =
        s.Fetch(Get(fmt::format("/api/v1/requests/{}/wait", *id) + QueryString(query)));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    if (!reply.body.is_object())
      return s.Fail("the server's answer is not a request", kExitRefused);
    const json::object& body = reply.body.as_object();
    std::string state = Str(body, "state");
    bool decided = state != "open";
    if (decided || clock.NowMs() >= deadline) {
      std::string_view status = GateStatusOfRequest(state);
      if (s.format() != OutputFormat::kTable) {
        PrintObject(reply.body, s.format(), s.out());
      } else {
        s.out() << fmt::format("request {}: {} ({} of {} version {})\n", *id, state,
                               Str(body, "target"), Str(body, "model"), Str(body, "version"));
      }
      if (!decided) {
        s.err() << fmt::format("vouch: request {} is still open after {}\n", *id, a.timeout);
      }
      return GateExit(status);
    }
    seen = {{"state", state}, {"since", Str(body, "last_updated_timestamp")}};
  }
}

void AddRequestsGroup(CLI::App& app, Action& chosen, const std::shared_ptr<ApprovalArgs>& a) {
  CLI::App* requests = app.add_subcommand("requests", "Approval requests and their reviews");
  requests->require_subcommand(1);

  CLI::App* create = requests->add_subcommand("create", "Request a version's move into a target");
  create->add_option("MODEL", a->model, "Model name")->required();
  create->add_option("VERSION", a->version, "Version number")->required();
  CLI::Option* to =
      create->add_option("--to", a->to, "Target, e.g. stage:Production or alias:champion");
  create
      ->add_option("--leave", a->leave,
                   "Instead: leave this target, which the version holds (gate_removal: true)")
      ->excludes(to);
  create->add_option("--comment", a->comment, "Why");
  CLI::Option* break_glass = create->add_flag(
      "--break-glass", a->break_glass,
      "Apply at once, bypassing the approvals (only for those the policy's break_glass names); "
      "leaves a follow-up for someone else to review");
  create->add_option("--reason", a->reason, "Why the glass is broken (with --break-glass)")
      ->needs(break_glass);
  break_glass->needs("--reason");
  OnSelect(*create, chosen, [a](Session& s, const Clock&) -> int {
    Result<int64_t> version = ParsePositiveInt(a->version, "version");
    if (!version.ok()) return s.Fail(version.status().message(), kExitUsage);
    if (a->to.empty() == a->leave.empty()) return s.Fail("give --to or --leave", kExitUsage);
    std::string target = a->leave.empty() ? a->to : "leave:" + a->leave;
    json::object body{{"model", a->model}, {"version", *version}, {"target", target}};
    if (!a->comment.empty()) body["comment"] = a->comment;
    if (a->break_glass) {
      body["break_glass"] = true;
      body["reason"] = a->reason;
    }
    return s.RunObject(WithBody("POST", "/api/v1/requests", body), RequestColumns());
  });

  for (const char* verb : {"approve", "reject"}) {
    bool approve = std::string_view(verb) == "approve";
    CLI::App* review = requests->add_subcommand(
        verb, approve ? "Approve a request (a signature)" : "Reject a request, which closes it");
    review->add_option("ID", a->id, "Request id")->required();
    CLI::Option* comment = review->add_option("--comment", a->comment, "Comment");
    if (!approve) comment->required();
    review->add_option("--meaning", a->meaning,
                       "reviewed, validated, approved (default) or released");
    review->add_option("--fingerprint", a->fingerprint,
                       "Refuse (409 ABORTED) unless the version still has this fingerprint");
    review->add_flag("--password-stdin", a->password_stdin,
                     "Read your password (one line) from standard input and sign with it, for a "
                     "policy with reauth: true (at a terminal it is asked for when needed)");
    OnSelect(*review, chosen, [a, verb](Session& s, const Clock&) { return Review(s, *a, verb); });
  }

  CLI::App* cancel = requests->add_subcommand("cancel", "Cancel an open or approved request");
  cancel->add_option("ID", a->id, "Request id")->required();
  cancel->add_option("--comment", a->comment, "Why");
  OnSelect(*cancel, chosen, [a](Session& s, const Clock&) {
    json::object body;
    if (!a->comment.empty()) body["comment"] = a->comment;
    return s.RunObject(RequestAction(*a, "cancel", body), RequestColumns());
  });

  CLI::App* apply = requests->add_subcommand("apply", "Apply a satisfied request");
  apply->add_option("ID", a->id, "Request id")->required();
  OnSelect(*apply, chosen, [a](Session& s, const Clock&) {
    return s.RunObject(RequestAction(*a, "apply", json::object{}), RequestColumns());
  });

  CLI::App* list = requests->add_subcommand("list", "List requests, newest first");
  list->add_flag("--mine", a->mine, "Only mine");
  list->add_flag("--to-review", a->to_review, "Open requests a rule names me for");
  list->add_flag("--followups", a->followups,
                 "Break-glass requests whose follow-up review is still open");
  list->add_option("--model", a->model, "Only this model's");
  list->add_option("--state", a->state,
                   "open, approved, applied, rejected, cancelled, expired or superseded");
  OnSelect(*list, chosen, [a](Session& s, const Clock&) {
    std::vector<std::pair<std::string, std::string>> query;
    if (a->mine) query.emplace_back("mine", "true");
    if (a->to_review) query.emplace_back("to_review", "true");
    if (a->followups) query.emplace_back("followups", "true");
    if (!a->model.empty()) query.emplace_back("model", a->model);
    if (!a->state.empty()) query.emplace_back("state", a->state);
    return s.RunItems(Get("/api/v1/requests" + QueryString(query)), "requests", RequestColumns());
  });

  CLI::App* show =
      requests->add_subcommand("show", "A request: every rule, who counted, checks, conditions");
  show->add_option("ID", a->id, "Request id")->required();
  OnSelect(*show, chosen, [a](Session& s, const Clock&) -> int {
    Result<int64_t> id = ParsePositiveInt(a->id, "request id");
    if (!id.ok()) return s.Fail(id.status().message(), kExitUsage);
    return PrintRequest(s, Get(fmt::format("/api/v1/requests/{}", *id)));
  });

  CLI::App* wait = requests->add_subcommand(
      "wait",
      "Wait until a request is decided: exit 0 the version may enter now or holds the target, 10 "
      "still pending at --timeout, 11 rejected, 12 expired, 13 cancelled or superseded");
  wait->add_option("ID", a->id, "Request id")->required();
  wait->add_option("--timeout", a->timeout, "How long to wait at most (30s, 15m, 2h; default 30m)");
  OnSelect(*wait, chosen,
           [a](Session& s, const Clock& clock) -> int { return WaitForRequest(s, clock, *a); });
}

void AddChecksGroup(CLI::App& app, Action& chosen, const std::shared_ptr<ApprovalArgs>& a) {
  CLI::App* checks = app.add_subcommand("checks", "Checks machines post on versions");
  checks->require_subcommand(1);

  CLI::App* post = checks->add_subcommand("post", "Post a check's state on a version");
  post->add_option("MODEL", a->model, "Model name")->required();
  post->add_option("VERSION", a->version, "Version number")->required();
  post->add_option("CHECK", a->check, "Check name, e.g. ci/tests")->required();
  post->add_option("STATE", a->state, "pending, success, failure or error")->required();
  post->add_option("--url", a->url, "Where its details are");
  post->add_option("--description", a->description, "One line about it");
  OnSelect(*post, chosen, [a](Session& s, const Clock&) {
    json::object body{{"name", a->check}, {"state", a->state}};
    if (!a->url.empty()) body["url"] = a->url;
    if (!a->description.empty()) body["description"] = a->description;
    return s.RunObject(VersionRequest(a->model, a->version, "POST", "/checks", body),
                       CheckColumns());
  });

  CLI::App* list = checks->add_subcommand("list", "The newest post of each check on a version");
  list->add_option("MODEL", a->model, "Model name")->required();
  list->add_option("VERSION", a->version, "Version number")->required();
  OnSelect(*list, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = VersionPath(a->model, a->version);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    return s.RunItems(Get(*path + "/checks"), "checks", CheckColumns());
  });
}

void AddGateGroup(CLI::App& app, Action& chosen, const std::shared_ptr<ApprovalArgs>& a) {
  CLI::App* gate = app.add_subcommand("gate", "Gates for CI/CD");
  gate->require_subcommand(1);
  CLI::App* check = gate->add_subcommand(
      "check",
      "Whether a version may enter a target now: exit 0 yes (or it holds it), 10 pending, 11 "
      "rejected, 12 expired, 13 cancelled or superseded, 14 gated and no request");
  check->add_option("MODEL", a->model, "Model name")->required();
  check->add_option("VERSION", a->version, "Version number")->required();
  check->add_option("--to", a->to, "Target, e.g. stage:Production")->required();
  OnSelect(*check, chosen, [a](Session& s, const Clock&) -> int {
    Result<std::string> path = VersionPath(a->model, a->version);
    if (!path.ok()) return s.Fail(path.status().message(), kExitUsage);
    Session::Reply reply = s.Fetch(Get(*path + "/gate" + QueryString({{"to", a->to}})));
    if (reply.exit_code != kExitOk) return reply.exit_code;
    const json::object& body = reply.body.as_object();
    std::string status = Str(body, "status");
    if (s.format() != OutputFormat::kTable) {
      PrintObject(reply.body, s.format(), s.out());
    } else {
      std::string line =
          fmt::format("{} of {} version {}: {}", a->to, a->model, a->version, status);
      if (body.contains("policy")) line += fmt::format(" (policy {})", Str(body, "policy"));
      if (const auto* b = body.if_contains("break_glass");
          b != nullptr && b->is_bool() && b->as_bool()) {
        line += ", by break glass";
      }
      if (const auto* r = body.if_contains("request")) {
        line += fmt::format(", request {}", Str(r->as_object(), "id"));
      }
      s.out() << line << "\n";
    }
    return GateExit(status);
  });
}

}  // namespace

void AddApprovalCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<ApprovalArgs>();
  AddPolicyGroup(app, chosen, a);
  AddRequestsGroup(app, chosen, a);
  AddChecksGroup(app, chosen, a);
  AddGateGroup(app, chosen, a);
}

}  // namespace vouch::cli
