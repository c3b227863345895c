#include "vouch/policy/policy.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <utility>

#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch::policy {

namespace {

Status ErrorAt(const YAML::Mark& mark, std::string_view message) {
  if (mark.is_null()) return InvalidArgument(fmt::format("line 1, column 1: {}", message));
  return InvalidArgument(
      fmt::format("line {}, column {}: {}", mark.line + 1, mark.column + 1, message));
}
Status ErrorAt(const YAML::Node& node, std::string_view message) {
  return ErrorAt(node.Mark(), message);
}

std::string_view NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// The members of a mapping, checked for duplicate and unknown keys; each looked up once by name.
class Fields {
 public:
  static Result<Fields> Of(const YAML::Node& node, const std::string& path,
                           std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      return ErrorAt(node, fmt::format("{} must be a mapping, not {}", path, NodeKind(node)));
    }
    Fields f;
    f.path_ = path;
    f.mark_ = node.Mark();
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: `it->first` lives in a temporary the iterator hands out, so a reference to it
      // dangles at the end of the statement.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) return ErrorAt(key, fmt::format("{}: keys must be names", path));
      const std::string& name = key.Scalar();
      auto seen = f.members_.find(name);
      if (seen != f.members_.end()) {
        return ErrorAt(key, fmt::format("{}: duplicate key '{}' (first at line {})", path, name,
                                        seen->second.first.line + 1));
      }
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
        return ErrorAt(key, fmt::format("{}: unknown key '{}' (allowed: {})", path, name, list));
      }
      f.members_.emplace(name, std::make_pair(key.Mark(), value));
    }
    return f;
  }

  // The value of `name`, or an undefined node when absent.
  std::optional<YAML::Node> Get(const std::string& name) const {
    auto it = members_.find(name);
    if (it == members_.end()) return std::nullopt;
    return it->second.second;
  }
  Result<YAML::Node> Require(const std::string& name) const {
    auto v = Get(name);
    if (!v) return ErrorAt(mark_, fmt::format("{}: '{}' is required", path_, name));
    return *v;
  }
  std::string Path(std::string_view name) const { return fmt::format("{}.{}", path_, name); }

 private:
  std::string path_;
  YAML::Mark mark_;
  std::map<std::string, std::pair<YAML::Mark, YAML::Node>> members_;
};

Result<std::string> String(const YAML::Node& node, const std::string& path, size_t max = 256) {
  if (!node.IsScalar()) {
    return ErrorAt(node, fmt::format("{} must be a string, not {}", path, NodeKind(node)));
  }
  const std::string& s = node.Scalar();
  if (s.empty()) return ErrorAt(node, fmt::format("{} must not be empty", path));
  if (s.size() > max) return ErrorAt(node, fmt::format("{} is longer than {} bytes", path, max));
  if (!IsValidUtf8(s) || s.find('\0') != std::string::npos) {
    return ErrorAt(node, fmt::format("{} is not valid UTF-8 text", path));
  }
  return s;
}

Result<bool> Bool(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && node.Tag() == "?") {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  return ErrorAt(node, fmt::format("{} must be true or false", path));
}

// Lists hold at most this many items (policies: kMaxPolicies), so that no file makes the
// parser or the evaluator do quadratic work.
constexpr size_t kMaxListItems = 100;
constexpr size_t kMaxPolicies = 1000;
constexpr size_t kMaxFileBytes = 1 << 20;

Result<YAML::Node> List(const YAML::Node& node, const std::string& path,
                        size_t max_items = kMaxListItems) {
  if (!node.IsSequence()) {
    return ErrorAt(node, fmt::format("{} must be a list, not {}", path, NodeKind(node)));
  }
  if (node.size() > max_items) {
    return ErrorAt(node, fmt::format("{} lists more than {} items", path, max_items));
  }
  return node;
}

Result<TimeMs> Duration(const YAML::Node& node, const std::string& path) {
  VOUCH_ASSIGN_OR_RETURN(std::string text, String(node, path));
  auto d = ParsePolicyDuration(text);
  if (!d.ok()) return ErrorAt(node, fmt::format("{}: {}", path, d.status().message()));
  return *d;
}

template <typename E>
Result<E> OneOf(const YAML::Node& node, const std::string& path,
                std::initializer_list<std::pair<std::string_view, E>> choices) {
  VOUCH_ASSIGN_OR_RETURN(std::string text, String(node, path));
  std::string names;
  for (const auto& [name, value] : choices) {
    if (text == name) return value;
    names += fmt::format("{}{}", names.empty() ? "" : " or ", name);
  }
  return ErrorAt(node, fmt::format("{} must be {}, not '{}'", path, names, text));
}

Result<std::vector<std::string>> Names(const YAML::Node& node, const std::string& path,
                                       bool tag_keys) {
  VOUCH_ASSIGN_OR_RETURN(YAML::Node list, List(node, path));
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", path, i);
    VOUCH_ASSIGN_OR_RETURN(std::string name, String(list[i], item_path));
    if (tag_keys) {
      Status s = ValidateTagKey(name);
      if (!s.ok()) return ErrorAt(list[i], fmt::format("{}: {}", item_path, s.message()));
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return ErrorAt(list[i], fmt::format("{}: '{}' is listed twice", item_path, name));
    }
    out.push_back(std::move(name));
  }
  return out;
}

Result<Ref> ParseRef(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap() || node.size() != 1) {
    return ErrorAt(node, fmt::format("{} must be a reference with exactly one key: {{role: NAME}}, "
                                     "{{group: NAME}} or {{user: NAME}}",
                                     path));
  }
  VOUCH_ASSIGN_OR_RETURN(Fields f, Fields::Of(node, path, {"role", "group", "user"}));
  Ref ref;
  std::optional<YAML::Node> value;
  if ((value = f.Get("role"))) {
    ref.kind = RefKind::kRole;
  } else if ((value = f.Get("group"))) {
    ref.kind = RefKind::kGroup;
  } else {
    value = f.Get("user");
    ref.kind = RefKind::kUser;
  }
  VOUCH_ASSIGN_OR_RETURN(ref.name, String(*value, path));
  return ref;
}

Result<std::vector<Ref>> Refs(const YAML::Node& node, const std::string& path, bool allow_empty) {
  VOUCH_ASSIGN_OR_RETURN(YAML::Node list, List(node, path));
  if (list.size() == 0 && !allow_empty) {
    return ErrorAt(node, fmt::format("{} is empty: name at least one {{role: NAME}}, "
                                     "{{group: NAME}} or {{user: NAME}}",
                                     path));
  }
  std::vector<Ref> out;
  for (size_t i = 0; i < list.size(); ++i) {
    VOUCH_ASSIGN_OR_RETURN(Ref ref, ParseRef(list[i], fmt::format("{}[{}]", path, i)));
    if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
  }
  return out;
}

Result<ApprovalRule> ParseRule(const YAML::Node& node, const std::string& path) {
  VOUCH_ASSIGN_OR_RETURN(Fields f, Fields::Of(node, path, {"from", "count", "meaning"}));
  ApprovalRule rule;
  VOUCH_ASSIGN_OR_RETURN(YAML::Node from, f.Require("from"));
  VOUCH_ASSIGN_OR_RETURN(rule.from, Refs(from, f.Path("from"), /*allow_empty=*/false));
  if (auto count = f.Get("count")) {
    bool ok = count->IsScalar() && count->Tag() == "?";
    if (ok) {
      const std::string& s = count->Scalar();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), rule.count);
      ok = ec == std::errc() && end == s.data() + s.size() && rule.count >= 1 && rule.count <= 100;
    }
    if (!ok) {
      return ErrorAt(
          *count, fmt::format("{} must be a whole number from 1 to 100, not '{}'", f.Path("count"),
                              count->IsScalar() ? count->Scalar() : NodeKind(*count)));
    }
  }
  if (auto meaning = f.Get("meaning")) {
    VOUCH_ASSIGN_OR_RETURN(rule.meaning, OneOf<Meaning>(*meaning, f.Path("meaning"),
                                                        {{"reviewed", Meaning::kReviewed},
                                                         {"validated", Meaning::kValidated},
                                                         {"approved", Meaning::kApproved},
                                                         {"released", Meaning::kReleased}}));
  }
  return rule;
}

Result<PolicyMatch> ParseMatch(const YAML::Node& node, const std::string& path) {
  // match.tags is an open mapping: its keys are tag names, checked for duplicates below.
  VOUCH_ASSIGN_OR_RETURN(Fields f, Fields::Of(node, path, {"models", "tags"}));
  PolicyMatch match;
  if (auto models = f.Get("models")) {
    VOUCH_ASSIGN_OR_RETURN(match.models, Names(*models, f.Path("models"), false));
    if (match.models.empty()) {
      return ErrorAt(*models,
                     fmt::format("{} is empty: leave it out to match any name", f.Path("models")));
    }
  }
  if (auto tags = f.Get("tags")) {
    std::string tags_path = f.Path("tags");
    if (!tags->IsMap()) {
      return ErrorAt(*tags,
                     fmt::format("{} must be a mapping, not {}", tags_path, NodeKind(*tags)));
    }
    if (tags->size() > kMaxListItems) {
      return ErrorAt(*tags, fmt::format("{} lists more than {} tags", tags_path, kMaxListItems));
    }
    for (auto it = tags->begin(); it != tags->end(); ++it) {
      const YAML::Node key_node = it->first;  // copies, as in Fields::Of
      const YAML::Node value_node = it->second;
      VOUCH_ASSIGN_OR_RETURN(std::string key, String(key_node, tags_path + " key"));
      std::string value_path = fmt::format("{}.{}", tags_path, key);
      if (match.tags.contains(key)) {
        return ErrorAt(key_node, fmt::format("{}: duplicate key '{}'", tags_path, key));
      }
      Status s = ValidateTagKey(key);
      if (!s.ok()) return ErrorAt(key_node, fmt::format("{}: {}", tags_path, s.message()));
      VOUCH_ASSIGN_OR_RETURN(std::string value, String(value_node, value_path, 5000));
      match.tags.emplace(std::move(key), std::move(value));
    }
    if (match.tags.empty()) {
      return ErrorAt(*tags, fmt::format("{} is empty: leave it out to match any tags", tags_path));
    }
  }
  if (match.models.empty() && match.tags.empty()) {
    return ErrorAt(node, fmt::format("{} is empty: leave it out to match every model", path));
  }
  return match;
}

Status ValidatePolicyName(const YAML::Node& node, const std::string& name,
                          const std::string& path) {
  bool ok = name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.');
  if (!ok) {
    return ErrorAt(node, fmt::format("{} '{}' must be 1 to 64 letters, digits, '_', '-' or '.', "
                                     "starting with a letter or digit",
                                     path, name));
  }
  return OkStatus();
}

Status ValidateCheckName(const YAML::Node& node, const std::string& name, const std::string& path) {
  bool ok = name.size() <= 128;
  for (unsigned char c : name) {
    ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':');
  }
  if (!ok) {
    return ErrorAt(node, fmt::format("{} '{}' must be 1 to 128 letters, digits, '_', '-', '.', "
                                     "'/' or ':'",
                                     path, name));
  }
  return OkStatus();
}

Result<Policy> ParsePolicyNode(const YAML::Node& node, const std::string& path) {
  VOUCH_ASSIGN_OR_RETURN(
      Fields f, Fields::Of(node, path,
                           {"name", "target", "match", "requesters", "approvals",
                            "separation_of_duties", "comment_required", "reauth", "checks",
                            "conditions", "wait", "expiry", "stale", "break_glass", "on_approval",
                            "archive_existing", "gate_removal", "enforcement", "remind_every"}));
  Policy p;
  VOUCH_ASSIGN_OR_RETURN(YAML::Node name, f.Require("name"));
  VOUCH_ASSIGN_OR_RETURN(p.name, String(name, f.Path("name")));
  VOUCH_TRY(ValidatePolicyName(name, p.name, f.Path("name")));

  VOUCH_ASSIGN_OR_RETURN(YAML::Node target, f.Require("target"));
  VOUCH_ASSIGN_OR_RETURN(std::string target_text, String(target, f.Path("target")));
  auto parsed_target = ParseTarget(target_text);
  if (!parsed_target.ok()) {
    return ErrorAt(target,
                   fmt::format("{}: {}", f.Path("target"), parsed_target.status().message()));
  }
  p.target = *parsed_target;
  if (p.target.kind == TargetKind::kEnv) {
    return ErrorAt(target, fmt::format("{}: env: targets are reserved for deployments and cannot "
                                       "be gated yet",
                                       f.Path("target")));
  }

  if (auto match = f.Get("match")) {
    VOUCH_ASSIGN_OR_RETURN(p.match, ParseMatch(*match, f.Path("match")));
  }
  if (auto requesters = f.Get("requesters")) {
    auto refs = Refs(*requesters, f.Path("requesters"), /*allow_empty=*/true);
    if (!refs.ok()) return refs.status();
    if (refs->empty()) {
      return ErrorAt(*requesters, fmt::format("{} is empty: leave it out to let anyone with EDIT "
                                              "on the model request",
                                              f.Path("requesters")));
    }
    p.requesters = std::move(*refs);
  }
  if (auto approvals = f.Get("approvals")) {
    VOUCH_ASSIGN_OR_RETURN(YAML::Node list, List(*approvals, f.Path("approvals")));
    for (size_t i = 0; i < list.size(); ++i) {
      VOUCH_ASSIGN_OR_RETURN(ApprovalRule rule,
                             ParseRule(list[i], fmt::format("{}[{}]", f.Path("approvals"), i)));
      p.approvals.push_back(std::move(rule));
    }
  }
  if (auto sod = f.Get("separation_of_duties")) {
    std::string sod_path = f.Path("separation_of_duties");
    VOUCH_ASSIGN_OR_RETURN(Fields sf, Fields::Of(*sod, sod_path, {"requester", "author", "tags"}));
    if (auto v = sf.Get("requester")) {
      VOUCH_ASSIGN_OR_RETURN(p.separation_of_duties.requester, Bool(*v, sf.Path("requester")));
    }
    if (auto v = sf.Get("author")) {
      VOUCH_ASSIGN_OR_RETURN(p.separation_of_duties.author, Bool(*v, sf.Path("author")));
    }
    if (auto v = sf.Get("tags")) {
      VOUCH_ASSIGN_OR_RETURN(p.separation_of_duties.tags, Names(*v, sf.Path("tags"), true));
    }
  }
  if (auto v = f.Get("comment_required")) {
    VOUCH_ASSIGN_OR_RETURN(p.comment_required, Bool(*v, f.Path("comment_required")));
  }
  if (auto v = f.Get("reauth")) {
    VOUCH_ASSIGN_OR_RETURN(p.reauth, Bool(*v, f.Path("reauth")));
  }
  if (auto v = f.Get("checks")) {
    VOUCH_ASSIGN_OR_RETURN(p.checks, Names(*v, f.Path("checks"), false));
    for (size_t i = 0; i < p.checks.size(); ++i) {
      VOUCH_TRY(
          ValidateCheckName((*v)[i], p.checks[i], fmt::format("{}[{}]", f.Path("checks"), i)));
    }
  }
  if (auto v = f.Get("conditions")) {
    VOUCH_ASSIGN_OR_RETURN(YAML::Node list, List(*v, f.Path("conditions")));
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_path = fmt::format("{}[{}]", f.Path("conditions"), i);
      VOUCH_ASSIGN_OR_RETURN(std::string text, String(list[i], item_path, 4096));
      auto condition = ParseCondition(text);
      if (!condition.ok()) {
        return ErrorAt(list[i],
                       fmt::format("{} \"{}\": {}", item_path, text, condition.status().message()));
      }
      p.conditions.push_back(std::move(*condition));
    }
  }
  if (auto v = f.Get("wait")) {
    VOUCH_ASSIGN_OR_RETURN(Fields wf, Fields::Of(*v, f.Path("wait"), {"in_stage", "at_least"}));
    WaitTimer wait;
    VOUCH_ASSIGN_OR_RETURN(YAML::Node stage, wf.Require("in_stage"));
    VOUCH_ASSIGN_OR_RETURN(std::string stage_text, String(stage, wf.Path("in_stage")));
    auto parsed = ParseStage(stage_text);
    if (!parsed.ok() || !IsActiveStage(*parsed)) {
      return ErrorAt(stage, fmt::format("{} must be Staging or Production, not '{}'",
                                        wf.Path("in_stage"), stage_text));
    }
    wait.in_stage = *parsed;
    VOUCH_ASSIGN_OR_RETURN(YAML::Node at_least, wf.Require("at_least"));
    VOUCH_ASSIGN_OR_RETURN(wait.at_least_ms, Duration(at_least, wf.Path("at_least")));
    p.wait = wait;
  }
  if (auto v = f.Get("expiry")) {
    VOUCH_ASSIGN_OR_RETURN(Fields ef, Fields::Of(*v, f.Path("expiry"), {"request", "approval"}));
    if (auto d = ef.Get("request")) {
      VOUCH_ASSIGN_OR_RETURN(p.request_expiry_ms, Duration(*d, ef.Path("request")));
    }
    if (auto d = ef.Get("approval")) {
      VOUCH_ASSIGN_OR_RETURN(p.approval_expiry_ms, Duration(*d, ef.Path("approval")));
    }
  }
  if (auto v = f.Get("stale")) {
    VOUCH_ASSIGN_OR_RETURN(Fields stf, Fields::Of(*v, f.Path("stale"), {"tags"}));
    if (auto t = stf.Get("tags")) {
      VOUCH_ASSIGN_OR_RETURN(p.stale_tags, Names(*t, stf.Path("tags"), true));
    }
  }
  if (auto v = f.Get("break_glass")) {
    VOUCH_ASSIGN_OR_RETURN(p.break_glass, Refs(*v, f.Path("break_glass"), /*allow_empty=*/true));
  }
  if (auto v = f.Get("on_approval")) {
    VOUCH_ASSIGN_OR_RETURN(p.on_approval, OneOf<OnApproval>(*v, f.Path("on_approval"),
                                                            {{"apply", OnApproval::kApply},
                                                             {"manual", OnApproval::kManual}}));
  }
  if (auto v = f.Get("archive_existing")) {
    VOUCH_ASSIGN_OR_RETURN(p.archive_existing, Bool(*v, f.Path("archive_existing")));
    if (p.archive_existing && p.target.kind != TargetKind::kStage) {
      return ErrorAt(*v, fmt::format("{} applies to stage targets only (an alias points at one "
                                     "version anyway)",
                                     f.Path("archive_existing")));
    }
  }
  if (auto v = f.Get("gate_removal")) {
    VOUCH_ASSIGN_OR_RETURN(p.gate_removal, Bool(*v, f.Path("gate_removal")));
  }
  if (auto v = f.Get("enforcement")) {
    VOUCH_ASSIGN_OR_RETURN(p.enforcement,
                           OneOf<Enforcement>(*v, f.Path("enforcement"),
                                              {{"enforce", Enforcement::kEnforce},
                                               {"audit_only", Enforcement::kAuditOnly}}));
  }
  if (auto v = f.Get("remind_every")) {
    VOUCH_ASSIGN_OR_RETURN(p.remind_every_ms, Duration(*v, f.Path("remind_every")));
  }
  if (p.approvals.empty() && p.checks.empty() && p.conditions.empty() && !p.wait) {
    return ErrorAt(node, fmt::format("{} '{}' gates nothing: give it approvals, checks, "
                                     "conditions or a wait",
                                     path, p.name));
  }
  return p;
}

// Reads the events of a YAML text before it is loaded, to refuse what a policies file does not
// need and what would let a small file expand into a large tree: anchors and aliases, and more
// than one document (YAML::Load would silently read only the first).
class Prescan final : public YAML::EventHandler {
 public:
  Status status;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) Fail(mark, "a policies file holds one YAML document, not several");
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Anchor(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Fail(mark, "aliases (*name) are not allowed in a policies file: write the value out");
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    Anchor(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Anchor(mark, anchor);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Anchor(mark, anchor);
  }
  void OnMapEnd() override {}

 private:
  void Anchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Fail(mark, "anchors (&name) are not allowed in a policies file: write the value out");
    }
  }
  void Fail(const YAML::Mark& mark, std::string_view message) {
    if (status.ok()) status = ErrorAt(mark, message);
  }
  int documents_ = 0;
};

// The one document of `text`, or INVALID_ARGUMENT. May throw YAML::Exception (CatchYaml).
Result<YAML::Node> Load(std::string_view text) {
  if (text.size() > kMaxFileBytes) {
    return InvalidArgument(
        fmt::format("line 1, column 1: a policies file is at most {} bytes", kMaxFileBytes));
  }
  std::string copy(text);
  std::istringstream in(copy);
  YAML::Parser parser(in);
  Prescan prescan;
  while (prescan.status.ok() && parser.HandleNextDocument(prescan)) {
  }
  VOUCH_TRY(prescan.status);
  return YAML::Load(copy);
}

// yaml-cpp throws; our code does not (STYLE.md "Errors").
template <typename F>
auto CatchYaml(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const YAML::Exception& e) {
    return ErrorAt(e.mark, e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(fmt::format("line 1, column 1: cannot read the policy: {}", e.what()));
  }
}

json::array RefsJson(const std::vector<Ref>& refs) {
  json::array out;
  for (const Ref& r : refs) {
    json::object o;
    o[r.kind == RefKind::kRole ? "role" : r.kind == RefKind::kGroup ? "group" : "user"] = r.name;
    out.push_back(std::move(o));
  }
  return out;
}

json::array StringsJson(const std::vector<std::string>& v) {
  json::array out;
  for (const std::string& s : v) out.push_back(json::string(s));
  return out;
}

}  // namespace

bool PersonMatches(const Ref& ref, const Person& person) {
  switch (ref.kind) {
    case RefKind::kRole:
      return std::find(person.roles.begin(), person.roles.end(), ref.name) != person.roles.end();
    case RefKind::kGroup:
      return std::find(person.groups.begin(), person.groups.end(), ref.name) != person.groups.end();
    case RefKind::kUser:
      return person.username == ref.name;
  }
  return false;
}

std::string FormatRef(const Ref& ref) {
  switch (ref.kind) {
    case RefKind::kRole:
      return "role:" + ref.name;
    case RefKind::kGroup:
      return "group:" + ref.name;
    case RefKind::kUser:
      return "user:" + ref.name;
  }
  return ref.name;
}

std::string_view MeaningName(Meaning m) {
  switch (m) {
    case Meaning::kReviewed:
      return "reviewed";
    case Meaning::kValidated:
      return "validated";
    case Meaning::kApproved:
      return "approved";
    case Meaning::kReleased:
      return "released";
  }
  return "approved";
}

Result<Meaning> ParseMeaning(std::string_view text) {
  for (Meaning m :
       {Meaning::kReviewed, Meaning::kValidated, Meaning::kApproved, Meaning::kReleased}) {
    if (text == MeaningName(m)) return m;
  }
  return InvalidArgument(
      fmt::format("'{}' is not a meaning: reviewed, validated, approved or released", text));
}

Result<TimeMs> ParsePolicyDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument(fmt::format(
        "'{}' is not a duration: write a whole number and a unit, m, h, d or w (30m, 24h, 7d, 2w)",
        text));
  };
  if (text.size() < 2 || text[0] < '1' || text[0] > '9') return bad();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1) return bad();
  constexpr TimeMs kMinute = 60'000;
  TimeMs unit;
  switch (text.back()) {
    case 'm':
      unit = kMinute;
      break;
    case 'h':
      unit = 60 * kMinute;
      break;
    case 'd':
      unit = 24 * 60 * kMinute;
      break;
    case 'w':
      unit = 7 * 24 * 60 * kMinute;
      break;
    default:
      return bad();
  }
  constexpr TimeMs kMax = 3650LL * 24 * 60 * kMinute;
  if (n > kMax / unit) {
    return InvalidArgument(fmt::format("'{}' is longer than the longest duration, 3650d", text));
  }
  return n * unit;
}

std::string FormatPolicyDuration(TimeMs ms) {
  constexpr TimeMs kMinute = 60'000;
  constexpr TimeMs kDay = 24 * 60 * kMinute;
  if (ms % (7 * kDay) == 0) return fmt::format("{}w", ms / (7 * kDay));
  if (ms % kDay == 0) return fmt::format("{}d", ms / kDay);
  if (ms % (60 * kMinute) == 0) return fmt::format("{}h", ms / (60 * kMinute));
  return fmt::format("{}m", ms / kMinute);
}

Result<std::vector<Policy>> ParsePolicyFile(std::string_view yaml) {
  return CatchYaml([&]() -> Result<std::vector<Policy>> {
    VOUCH_ASSIGN_OR_RETURN(YAML::Node root, Load(yaml));
    if (!root.IsMap()) {
      return ErrorAt(root, "a policies file is a mapping with one key, 'policies', holding a list");
    }
    VOUCH_ASSIGN_OR_RETURN(Fields f, Fields::Of(root, "the file", {"policies"}));
    VOUCH_ASSIGN_OR_RETURN(YAML::Node policies, f.Require("policies"));
    VOUCH_ASSIGN_OR_RETURN(YAML::Node list, List(policies, "policies", kMaxPolicies));
    std::vector<Policy> out;
    std::map<std::string, int> first_line;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = fmt::format("policies[{}]", i);
      VOUCH_ASSIGN_OR_RETURN(Policy p, ParsePolicyNode(list[i], path));
      auto [it, inserted] = first_line.emplace(p.name, list[i].Mark().line + 1);
      if (!inserted) {
        return ErrorAt(list[i]["name"], fmt::format("{}: a policy named '{}' is already defined at "
                                                    "line {}",
                                                    path, p.name, it->second));
      }
      out.push_back(std::move(p));
    }
    return out;
  });
}

Result<Policy> ParsePolicy(std::string_view text) {
  return CatchYaml([&]() -> Result<Policy> {
    VOUCH_ASSIGN_OR_RETURN(YAML::Node root, Load(text));
    return ParsePolicyNode(root, "the policy");
  });
}

std::string PolicyCanonicalJson(const Policy& p) {
  json::object o;
  o["name"] = p.name;
  o["target"] = FormatTarget(p.target);
  if (p.match) {
    json::object m;
    if (!p.match->models.empty()) m["models"] = StringsJson(p.match->models);
    if (!p.match->tags.empty()) {
      json::object tags;
      for (const auto& [k, v] : p.match->tags) tags[k] = v;
      m["tags"] = std::move(tags);
    }
    o["match"] = std::move(m);
  }
  if (!p.requesters.empty()) o["requesters"] = RefsJson(p.requesters);
  json::array approvals;
  for (const ApprovalRule& r : p.approvals) {
    json::object rule;
    rule["from"] = RefsJson(r.from);
    rule["count"] = r.count;
    if (r.meaning) rule["meaning"] = MeaningName(*r.meaning);
    approvals.push_back(std::move(rule));
  }
  o["approvals"] = std::move(approvals);
  o["separation_of_duties"] = {{"requester", p.separation_of_duties.requester},
                               {"author", p.separation_of_duties.author},
                               {"tags", StringsJson(p.separation_of_duties.tags)}};
  o["comment_required"] = p.comment_required;
  o["reauth"] = p.reauth;
  o["checks"] = StringsJson(p.checks);
  json::array conditions;
  for (const Condition& c : p.conditions) conditions.push_back(json::string(FormatCondition(c)));
  o["conditions"] = std::move(conditions);
  if (p.wait) {
    o["wait"] = {{"in_stage", StageName(p.wait->in_stage)},
                 {"at_least", FormatPolicyDuration(p.wait->at_least_ms)}};
  }
  if (p.request_expiry_ms || p.approval_expiry_ms) {
    json::object e;
    if (p.request_expiry_ms) e["request"] = FormatPolicyDuration(*p.request_expiry_ms);
    if (p.approval_expiry_ms) e["approval"] = FormatPolicyDuration(*p.approval_expiry_ms);
    o["expiry"] = std::move(e);
  }
  o["stale"] = {{"tags", StringsJson(p.stale_tags)}};
  o["break_glass"] = RefsJson(p.break_glass);
  o["on_approval"] = p.on_approval == OnApproval::kApply ? "apply" : "manual";
  o["archive_existing"] = p.archive_existing;
  o["gate_removal"] = p.gate_removal;
  o["enforcement"] = p.enforcement == Enforcement::kEnforce ? "enforce" : "audit_only";
  if (p.remind_every_ms) o["remind_every"] = FormatPolicyDuration(*p.remind_every_ms);
  // Every string was checked to be valid UTF-8 and every number is a small integer, so this
  // cannot fail.
  auto canonical = CanonicalJson(o);
  return canonical.ok() ? *canonical : SerializeJson(o);
}

std::string PolicyDigest(const Policy& policy) { return Sha256Hex(PolicyCanonicalJson(policy)); }

bool CanRequest(const Policy& policy, const Person& person) {
  if (policy.requesters.empty()) return true;
  return std::any_of(policy.requesters.begin(), policy.requesters.end(),
                     [&](const Ref& r) { return PersonMatches(r, person); });
}

bool CanBreakGlass(const Policy& policy, const Person& person) {
  return std::any_of(policy.break_glass.begin(), policy.break_glass.end(),
                     [&](const Ref& r) { return PersonMatches(r, person); });
}

std::vector<Ref> References(const Policy& policy) {
  std::vector<Ref> out = policy.requesters;
  for (const ApprovalRule& rule : policy.approvals) {
    out.insert(out.end(), rule.from.begin(), rule.from.end());
  }
  out.insert(out.end(), policy.break_glass.begin(), policy.break_glass.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace vouch::policy
