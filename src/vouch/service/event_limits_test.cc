// Every audit event fits one tlog-tiles entry: for each kind of event whose size a client
// controls, the largest one the field limits (domain/model.h) and the record limit (events.h)
// let through, with the largest envelope (actor, source, request id, target) a request can give
// it, is built and measured in canonical JSON against 65,535 bytes less a margin.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "vouch/audit/actions.h"
#include "vouch/audit/audit_log.h"
#include "vouch/service/events.h"

namespace vouch::service {
namespace {

using audit::Action;

// What the biggest event may take, leaving room for what later schema versions may add.
constexpr size_t kBudget = audit::kMaxAuditEventBytes - 8 * 1024;

// `n` characters that take the most bytes in canonical JSON where control characters are refused
// (names, keys): four-byte UTF-8 (a JSON string writes them as they are; '"' and '\' take two).
std::string Widest(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "\xf0\x9f\x98\x80";
  return s;
}

// Free text of at most `n` characters (descriptions, tag and param values, comments) that takes
// the most bytes in canonical JSON its limit lets through, 4n (domain/model.h), made of control
// characters (six bytes each, \u0001) and quotes (two): a client may send control characters.
std::string WidestText(size_t n) {
  std::string s((4 * n) / 6, '\x01');
  s.append(((4 * n) % 6) / 2, '"');
  return s;
}

// The largest model name: 256 characters (names refuse control characters).
Model WidestModel() { return Model{.id = (int64_t{1} << 53) - 1, .name = Widest(kMaxNameLength)}; }

// The largest envelope: the longest principal name (64), user agent (256 bytes, each a control
// character written as six), request id (128) and client address.
RequestContext WidestContext() {
  RequestContext ctx;
  ctx.principal = Principal{.id = (int64_t{1} << 53) - 1, .name = std::string(64, 'p')};
  ctx.auth = AuthMethod::kPassword;
  ctx.door = Door::kSageMaker;
  ctx.address = std::string(64, 'f');
  ctx.user_agent = std::string(256, '\x01');
  ctx.request_id = std::string(128, 'r');
  return ctx;
}

size_t Size(AuditEvent e) {
  e.seq = (int64_t{1} << 53) - 1;
  e.time_ms = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  auto bytes = CanonicalJson(AuditEventJson(e));
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? bytes->size() : 0;
}

// The largest model CheckModelRecord accepts: the widest name and description, then tags of the
// widest keys and values until one more would be refused.
Model LargestAcceptedModel() {
  Model m = WidestModel();
  m.description = WidestText(kMaxDescriptionLength);
  for (int i = 0;; ++i) {
    Model more = m;
    std::string key = fmt::format("{:03}", i) + Widest(kMaxTagKeyLength - 3);
    more.tags[key] = WidestText(kMaxTagValueLength);
    if (!CheckModelRecord(more).ok()) {
      // Fill what is left with a shorter value, one character at a time would be slow: halve.
      for (size_t n = kMaxTagValueLength; n > 0; n /= 2) {
        more.tags[key] = WidestText(n);
        if (CheckModelRecord(more).ok()) return more;
      }
      return m;
    }
    m = std::move(more);
  }
}

// The largest version CheckVersionRecord accepts: the widest source and run id (a widest
// description besides would already pass the limit), then params of the widest keys and values, the
// last one shortened to fit, then aliases of the longest names until one more would be refused.
ModelVersion LargestAcceptedVersion() {
  ModelVersion v{.version = (int64_t{1} << 53) - 1,
                 .source = Widest(kMaxSourceLength),
                 .run_id = Widest(kMaxRunIdLength),
                 .artifact_digest = "sha256:" + std::string(64, 'a')};
  EXPECT_TRUE(CheckVersionRecord("m", v).ok());
  for (int i = 0;; ++i) {
    ModelVersion more = v;
    std::string key = fmt::format("{:03}", i) + Widest(kMaxTagKeyLength - 3);
    more.params[key] = WidestText(kMaxParamValueLength);
    if (!CheckVersionRecord("m", more).ok()) {
      for (size_t n = kMaxParamValueLength / 2; n > 0; n /= 2) {
        more.params[key] = WidestText(n);
        if (CheckVersionRecord("m", more).ok()) {
          v = std::move(more);
          break;
        }
      }
      break;
    }
    v = std::move(more);
  }
  for (int i = 0; i < 100; ++i) {
    ModelVersion more = v;
    more.aliases.push_back(fmt::format("{:02}", i) + std::string(kMaxAliasLength - 2, 'a'));
    if (!CheckVersionRecord("m", more).ok()) break;
    v = std::move(more);
  }
  return v;
}

TEST(EventLimits, TheRecordLimitRefusesAModelOrVersionOneByteTooBig) {
  Model m = LargestAcceptedModel();
  ASSERT_TRUE(CheckModelRecord(m).ok());
  m.tags.begin()->second += "x";
  while (CheckModelRecord(m).ok()) m.tags.begin()->second += "x";
  Status s = CheckModelRecord(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("over the limit of 32768 bytes"), std::string::npos) << s.ToString();
  ModelVersion v = LargestAcceptedVersion();
  ASSERT_TRUE(CheckVersionRecord("m", v).ok());
  v.aliases.push_back(std::string(kMaxAliasLength, 'z'));
  EXPECT_EQ(CheckVersionRecord("m", v).code(), StatusCode::kInvalidArgument);
}

TEST(EventLimits, EventsCarryingAWholeModelOrVersionFitAnEntry) {
  const RequestContext ctx = WidestContext();
  Model m = LargestAcceptedModel();
  ModelVersion v = LargestAcceptedVersion();

  AuditEvent created = ModelEvent(ctx, Action::kModelCreated, m);
  created.after = ModelSnapshot(m);
  EXPECT_LE(Size(created), kBudget);

  AuditEvent deleted = ModelEvent(ctx, Action::kModelDeleted, m);
  json::object before = ModelSnapshot(m);
  before["versions"] = (int64_t{1} << 53) - 1;
  deleted.before = std::move(before);
  EXPECT_LE(Size(deleted), kBudget);

  AuditEvent version_created = ModelEvent(ctx, Action::kVersionCreated, WidestModel(), v.version);
  version_created.after = VersionSnapshot(v);
  EXPECT_LE(Size(version_created), kBudget);

  AuditEvent version_deleted = ModelEvent(ctx, Action::kVersionDeleted, WidestModel(), v.version);
  version_deleted.before = VersionSnapshotWithAliases(v);
  EXPECT_LE(Size(version_deleted), kBudget) << "aliases: " << v.aliases.size();
}

TEST(EventLimits, EventsCarryingAFieldBeforeAndAfterFitAnEntry) {
  const RequestContext ctx = WidestContext();
  const Model m = WidestModel();
  const std::string key = Widest(kMaxTagKeyLength);

  for (Action a : {Action::kModelUpdated, Action::kVersionUpdated}) {
    AuditEvent e = ModelEvent(ctx, a, m, a == Action::kVersionUpdated ? 1 : 0);
    e.before = {{"description", WidestText(kMaxDescriptionLength)}};
    e.after = {{"description", WidestText(kMaxDescriptionLength)}};
    EXPECT_LE(Size(e), kBudget) << audit::ActionName(a);
  }
  for (Action a : {Action::kModelTagSet, Action::kVersionTagSet}) {
    AuditEvent e = ModelEvent(ctx, a, m, a == Action::kVersionTagSet ? 1 : 0);
    e.before = {{"key", key}, {"value", WidestText(kMaxTagValueLength)}};
    e.after = {{"key", key}, {"value", WidestText(kMaxTagValueLength)}};
    EXPECT_LE(Size(e), kBudget) << audit::ActionName(a);
  }
  AuditEvent param = ModelEvent(ctx, Action::kVersionParamSet, m, 1);
  param.before = {{"key", key}, {"value", WidestText(kMaxParamValueLength)}};
  param.after = {{"key", key}, {"value", WidestText(kMaxParamValueLength)}};
  EXPECT_LE(Size(param), kBudget);

  AuditEvent renamed = ModelEvent(ctx, Action::kModelRenamed, m);
  renamed.before = {{"name", m.name}};
  renamed.after = {{"name", Widest(kMaxNameLength)}};
  EXPECT_LE(Size(renamed), kBudget);

  // A comment on a stage change or an alias is checked as a description.
  AuditEvent alias = ModelEvent(ctx, Action::kAliasSet, m, 1);
  alias.target["alias"] = std::string(kMaxAliasLength, 'a');
  alias.before = {{"alias", std::string(kMaxAliasLength, 'a')}, {"version", 1}};
  alias.after = {{"alias", std::string(kMaxAliasLength, 'a')}, {"version", 2}};
  alias.comment = WidestText(kMaxDescriptionLength);
  EXPECT_LE(Size(alias), kBudget);
}

}  // namespace
}  // namespace vouch::service
