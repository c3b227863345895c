#include "vouch/policy/policy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "vouch/policy/selection.h"

namespace vouch::policy {
namespace {

// The example of issue 12, exactly as written there.
constexpr std::string_view kIssueExample = R"(policies:
  - name: production
    target: stage:Production
    match: {models: ["fraud-*"], tags: {risk: high}}   # optional; the most specific policy governs
    requesters: [{role: data-scientist}, {role: ml-engineer}]
    approvals:                                          # every rule must hold
      - {from: [{role: ml-engineer}], count: 2}
      - {from: [{role: business-owner}, {user: ana}], count: 1, meaning: approved}
    separation_of_duties: {requester: true, author: true, tags: [commit_author]}
    comment_required: true
    reauth: true
    checks: [ci/tests, bias-scan]
    conditions: ["metrics.auc >= 0.9", "metrics.bias_gap <= 0.05", "tags.model_card exists"]
    wait: {in_stage: Staging, at_least: 24h}
    expiry: {request: 7d, approval: 30d}
    stale: {tags: [model_card]}
    break_glass: [{group: sre-oncall}]
    on_approval: apply          # or manual
    archive_existing: true
    gate_removal: false         # true: leaving the target also needs a request
    enforcement: enforce        # or audit_only: let direct moves through, flagged and notified
)";

// The error message of parsing `yaml`, which must fail with INVALID_ARGUMENT.
std::string ErrorOf(std::string_view yaml) {
  auto parsed = ParsePolicyFile(yaml);
  EXPECT_FALSE(parsed.ok()) << yaml;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

// A file holding one policy made of `body` (lines indented under "  - ").
std::string OnePolicy(std::string_view body) {
  return "policies:\n  - name: p\n    target: stage:Production\n" + std::string(body);
}

TEST(PolicyFile, ParsesTheIssueExampleAsWritten) {
  auto parsed = ParsePolicyFile(kIssueExample);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  const Policy& p = (*parsed)[0];
  EXPECT_EQ(p.name, "production");
  EXPECT_EQ(p.target, StageTarget(Stage::kProduction));
  ASSERT_TRUE(p.match.has_value());
  EXPECT_EQ(p.match->models, std::vector<std::string>{"fraud-*"});
  EXPECT_EQ(p.match->tags, (StringMap{{"risk", "high"}}));
  EXPECT_EQ(p.requesters, (std::vector<Ref>{{RefKind::kRole, "data-scientist"},
                                            {RefKind::kRole, "ml-engineer"}}));
  ASSERT_EQ(p.approvals.size(), 2u);
  EXPECT_EQ(p.approvals[0].from, (std::vector<Ref>{{RefKind::kRole, "ml-engineer"}}));
  EXPECT_EQ(p.approvals[0].count, 2);
  EXPECT_FALSE(p.approvals[0].meaning.has_value());
  EXPECT_EQ(p.approvals[1].from,
            (std::vector<Ref>{{RefKind::kRole, "business-owner"}, {RefKind::kUser, "ana"}}));
  EXPECT_EQ(p.approvals[1].count, 1);
  EXPECT_EQ(p.approvals[1].meaning, Meaning::kApproved);
  EXPECT_TRUE(p.separation_of_duties.requester);
  EXPECT_TRUE(p.separation_of_duties.author);
  EXPECT_EQ(p.separation_of_duties.tags, std::vector<std::string>{"commit_author"});
  EXPECT_TRUE(p.comment_required);
  EXPECT_TRUE(p.reauth);
  EXPECT_EQ(p.checks, (std::vector<std::string>{"ci/tests", "bias-scan"}));
  ASSERT_EQ(p.conditions.size(), 3u);
  EXPECT_EQ(FormatCondition(p.conditions[0]), "metrics.auc >= 0.9");
  EXPECT_EQ(FormatCondition(p.conditions[1]), "metrics.bias_gap <= 0.05");
  EXPECT_EQ(FormatCondition(p.conditions[2]), "tags.model_card exists");
  ASSERT_TRUE(p.wait.has_value());
  EXPECT_EQ(p.wait->in_stage, Stage::kStaging);
  EXPECT_EQ(p.wait->at_least_ms, 24 * 3'600'000LL);
  EXPECT_EQ(p.request_expiry_ms, 7 * 86'400'000LL);
  EXPECT_EQ(p.approval_expiry_ms, 30 * 86'400'000LL);
  EXPECT_EQ(p.stale_tags, std::vector<std::string>{"model_card"});
  EXPECT_EQ(p.break_glass, (std::vector<Ref>{{RefKind::kGroup, "sre-oncall"}}));
  EXPECT_EQ(p.on_approval, OnApproval::kApply);
  EXPECT_TRUE(p.archive_existing);
  EXPECT_FALSE(p.gate_removal);
  EXPECT_EQ(p.enforcement, Enforcement::kEnforce);
  EXPECT_FALSE(p.remind_every_ms.has_value());
}

TEST(PolicyFile, FillsTheDocumentedDefaultsForWhatAPolicyLeavesOut) {
  auto parsed = ParsePolicyFile(OnePolicy("    approvals: [{from: [{role: ml-engineer}]}]\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Policy& p = (*parsed)[0];
  EXPECT_FALSE(p.match.has_value());
  EXPECT_TRUE(p.requesters.empty());  // anyone with EDIT
  EXPECT_EQ(p.approvals[0].count, 1);
  EXPECT_FALSE(p.approvals[0].meaning.has_value());  // any meaning
  EXPECT_TRUE(p.separation_of_duties.requester);
  EXPECT_TRUE(p.separation_of_duties.author);
  EXPECT_TRUE(p.separation_of_duties.tags.empty());
  EXPECT_FALSE(p.comment_required);
  EXPECT_FALSE(p.reauth);
  EXPECT_TRUE(p.checks.empty());
  EXPECT_TRUE(p.conditions.empty());
  EXPECT_FALSE(p.wait.has_value());
  EXPECT_FALSE(p.request_expiry_ms.has_value());
  EXPECT_FALSE(p.approval_expiry_ms.has_value());
  EXPECT_TRUE(p.stale_tags.empty());
  EXPECT_TRUE(p.break_glass.empty());
  EXPECT_EQ(p.on_approval, OnApproval::kApply);
  EXPECT_FALSE(p.archive_existing);
  EXPECT_FALSE(p.gate_removal);
  EXPECT_EQ(p.enforcement, Enforcement::kEnforce);
  EXPECT_FALSE(p.remind_every_ms.has_value());
}

TEST(PolicyFile, ParsesSeveralPoliciesAndEveryEnumerationValue) {
  auto parsed = ParsePolicyFile(R"(policies:
  - name: champion
    target: alias:champion
    approvals: [{from: [{group: leads}], count: 1, meaning: released}]
    on_approval: manual
    enforcement: audit_only
    remind_every: 12h
    separation_of_duties: {requester: false, author: false}
  - name: staging
    target: stage:staging
    checks: [ci/tests]
)");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].target, AliasTarget("champion"));
  EXPECT_EQ((*parsed)[0].approvals[0].meaning, Meaning::kReleased);
  EXPECT_EQ((*parsed)[0].on_approval, OnApproval::kManual);
  EXPECT_EQ((*parsed)[0].enforcement, Enforcement::kAuditOnly);
  EXPECT_EQ((*parsed)[0].remind_every_ms, 12 * 3'600'000LL);
  EXPECT_FALSE((*parsed)[0].separation_of_duties.requester);
  EXPECT_FALSE((*parsed)[0].separation_of_duties.author);
  EXPECT_EQ(FormatTarget((*parsed)[1].target), "stage:Staging");
}

TEST(PolicyFile, AnEmptyListOfPoliciesIsNoPolicies) {
  auto parsed = ParsePolicyFile("policies: []\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->empty());
}

TEST(PolicyFile, RefusesADuplicateKeyNamingBothLines) {
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    checks: [b]\n")),
            "line 5, column 5: policies[0]: duplicate key 'checks' (first at line 4)");
  EXPECT_EQ(ErrorOf("policies: []\npolicies: []\n"),
            "line 2, column 1: the file: duplicate key 'policies' (first at line 1)");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    match: {tags: {risk: high, risk: low}}\n")),
            "line 5, column 32: policies[0].match.tags: duplicate key 'risk'");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [{role: a}], count: 1, count: 2}]\n")),
            "line 4, column 47: policies[0].approvals[0]: duplicate key 'count' (first at line 4)");
}

TEST(PolicyFile, RefusesAnUnknownKeyNamingTheAllowedOnes) {
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    approval: []\n")),
            "line 5, column 5: policies[0]: unknown key 'approval' (allowed: name, target, match, "
            "requesters, approvals, separation_of_duties, comment_required, reauth, checks, "
            "conditions, wait, expiry, stale, break_glass, on_approval, archive_existing, "
            "gate_removal, enforcement, remind_every)");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    wait: {in_stage: Staging, atleast: 1h}\n")),
            "line 5, column 31: policies[0].wait: unknown key 'atleast' (allowed: in_stage, "
            "at_least)");
  EXPECT_EQ(ErrorOf("policy: []\n"),
            "line 1, column 1: the file: unknown key 'policy' (allowed: policies)");
}

TEST(PolicyFile, RefusesWrongTypesWithLineAndColumn) {
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: ci/tests\n")),
            "line 4, column 13: policies[0].checks must be a list, not a scalar");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    reauth: yes\n")),
            "line 5, column 13: policies[0].reauth must be true or false");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    reauth: \"true\"\n")),
            "line 5, column 13: policies[0].reauth must be true or false");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    match: [fraud-*]\n")),
            "line 5, column 12: policies[0].match must be a mapping, not a list");
  EXPECT_EQ(ErrorOf("- name: p\n"),
            "line 1, column 1: a policies file is a mapping with one key, 'policies', holding a "
            "list");
  EXPECT_EQ(ErrorOf("policies:\n  - name: p\n"),
            "line 2, column 5: policies[0]: 'target' is required");
}

TEST(PolicyFile, RefusesBadDurations) {
  for (std::string_view bad : {"24", "0h", "1.5h", "-1d", "7 d", "1y", "h", "3651d", "01h"}) {
    std::string message = ErrorOf(
        OnePolicy("    checks: [a]\n    expiry: {request: \"" + std::string(bad) + "\"}\n"));
    EXPECT_TRUE(message.starts_with("line 5, column 23: policies[0].expiry.request: '")) << message;
  }
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    expiry: {request: 24}\n")),
            "line 5, column 23: policies[0].expiry.request: '24' is not a duration: write a whole "
            "number and a unit, m, h, d or w (30m, 24h, 7d, 2w)");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    expiry: {approval: 3651d}\n")),
            "line 5, column 24: policies[0].expiry.approval: '3651d' is longer than the longest "
            "duration, 3650d");
}

TEST(PolicyFile, RefusesBadCounts) {
  for (std::string_view bad : {"0", "-1", "101", "two", "1.5", "\"2\""}) {
    std::string message = ErrorOf(
        OnePolicy("    approvals: [{from: [{role: a}], count: " + std::string(bad) + "}]\n"));
    EXPECT_TRUE(
        message.starts_with("line 4, column 44: policies[0].approvals[0].count must be a "
                            "whole number from 1 to 100, not '"))
        << message;
  }
}

TEST(PolicyFile, RefusesAnEmptyFromAndMalformedReferences) {
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [], count: 1}]\n")),
            "line 4, column 24: policies[0].approvals[0].from is empty: name at least one "
            "{role: NAME}, {group: NAME} or {user: NAME}");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{count: 1}]\n")),
            "line 4, column 17: policies[0].approvals[0]: 'from' is required");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [{role: a, user: b}]}]\n")),
            "line 4, column 25: policies[0].approvals[0].from[0] must be a reference with exactly "
            "one key: {role: NAME}, {group: NAME} or {user: NAME}");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [ml-engineer]}]\n")),
            "line 4, column 25: policies[0].approvals[0].from[0] must be a reference with exactly "
            "one key: {role: NAME}, {group: NAME} or {user: NAME}");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [{team: a}]}]\n")),
            "line 4, column 26: policies[0].approvals[0].from[0]: unknown key 'team' (allowed: "
            "role, group, user)");
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [{role: \"\"}]}]\n")),
            "line 4, column 32: policies[0].approvals[0].from[0] must not be empty");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    requesters: []\n")),
            "line 5, column 17: policies[0].requesters is empty: leave it out to let anyone with "
            "EDIT on the model request");
}

TEST(PolicyFile, RefusesBadEnumerations) {
  EXPECT_EQ(ErrorOf(OnePolicy("    approvals: [{from: [{role: a}], meaning: signed}]\n")),
            "line 4, column 46: policies[0].approvals[0].meaning must be reviewed or validated or "
            "approved or released, not 'signed'");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    on_approval: auto\n")),
            "line 5, column 18: policies[0].on_approval must be apply or manual, not 'auto'");
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: [a]\n    enforcement: warn\n")),
            "line 5, column 18: policies[0].enforcement must be enforce or audit_only, not 'warn'");
}

TEST(PolicyFile, RefusesBareAndUngatableTargets) {
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: Production, checks: [a]}\n"),
            "line 2, column 23: policies[0].target: 'Production' is not a typed target: write "
            "stage:Production for a stage or alias:Production for an alias (targets are "
            "stage:Staging, stage:Production, alias:NAME)");
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: stage:Archived, checks: [a]}\n"),
            "line 2, column 23: policies[0].target: 'stage:Archived' is not a gated stage: the "
            "stages a policy can gate are stage:Staging and stage:Production");
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: env:prod-eu, checks: [a]}\n"),
            "line 2, column 23: policies[0].target: env: targets are reserved for deployments and "
            "cannot be gated yet");
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: alias:champion, checks: [a], "
                    "archive_existing: true}\n"),
            "line 2, column 70: policies[0].archive_existing applies to stage targets only (an "
            "alias points at one version anyway)");
}

TEST(PolicyFile, RefusesABadConditionPointingAtTheToken) {
  EXPECT_EQ(ErrorOf(OnePolicy("    conditions: [\"metrics.auc >> 0.9\"]\n")),
            "line 4, column 18: policies[0].conditions[0] \"metrics.auc >> 0.9\": at column 13: "
            "expected a comparison (< <= = != >= >) or exists\n"
            "  metrics.auc >> 0.9\n"
            "              ^");
}

TEST(PolicyFile, RefusesTwoPoliciesWithOneName) {
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: stage:Staging, checks: [a]}\n"
                    "  - {name: p, target: stage:Production, checks: [a]}\n"),
            "line 3, column 12: policies[1]: a policy named 'p' is already defined at line 2");
}

TEST(PolicyFile, RefusesAPolicyThatGatesNothing) {
  EXPECT_EQ(ErrorOf("policies:\n  - {name: p, target: stage:Staging}\n"),
            "line 2, column 5: policies[0] 'p' gates nothing: give it approvals, checks, "
            "conditions or a wait");
}

TEST(PolicyFile, RefusesYamlSyntaxErrorsWithTheirPosition) {
  std::string message = ErrorOf("policies:\n  - {name: p, target: [\n");
  EXPECT_TRUE(message.starts_with("line ")) << message;
  EXPECT_EQ(ErrorOf("policies: [}\n").substr(0, 19), "line 1, column 12: ");
}

TEST(PolicyFile, RefusesAnchorsAliasesAndSeveralDocuments) {
  EXPECT_EQ(ErrorOf("policies:\n  - &p {name: p, target: stage:Staging, checks: [a]}\n"),
            "line 2, column 5: anchors (&name) are not allowed in a policies file: write the "
            "value out");
  EXPECT_EQ(ErrorOf("x: &r {role: a}\npolicies:\n  - {name: p, target: stage:Staging, "
                    "approvals: [{from: [*r]}]}\n"),
            "line 1, column 4: anchors (&name) are not allowed in a policies file: write the "
            "value out");
  EXPECT_EQ(ErrorOf("policies: []\n---\npolicies: []\n"),
            "line 2, column 1: a policies file holds one YAML document, not several");
}

TEST(PolicyFile, RefusesOverlongListsAndFiles) {
  std::string checks = "[";
  for (int i = 0; i < 101; ++i) checks += "c" + std::to_string(i) + ",";
  checks.back() = ']';
  EXPECT_EQ(ErrorOf(OnePolicy("    checks: " + checks + "\n")),
            "line 4, column 13: policies[0].checks lists more than 100 items");
  EXPECT_EQ(ErrorOf("policies: []\n#" + std::string(1 << 20, 'x') + "\n"),
            "line 1, column 1: a policies file is at most 1048576 bytes");
}

TEST(PolicyCanonical, WritesEveryDefaultAndRoundTrips) {
  auto parsed = ParsePolicyFile(kIssueExample);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Policy& p = (*parsed)[0];
  std::string canonical = PolicyCanonicalJson(p);
  EXPECT_EQ(
      canonical,
      R"({"approvals":[{"count":2,"from":[{"role":"ml-engineer"}]},{"count":1,"from":[{"role":"business-owner"},{"user":"ana"}],"meaning":"approved"}],)"
      R"("archive_existing":true,"break_glass":[{"group":"sre-oncall"}],"checks":["ci/tests","bias-scan"],"comment_required":true,)"
      R"("conditions":["metrics.auc >= 0.9","metrics.bias_gap <= 0.05","tags.model_card exists"],"enforcement":"enforce",)"
      R"("expiry":{"approval":"30d","request":"1w"},"gate_removal":false,"match":{"models":["fraud-*"],"tags":{"risk":"high"}},)"
      R"("name":"production","on_approval":"apply","reauth":true,"requesters":[{"role":"data-scientist"},{"role":"ml-engineer"}],)"
      R"("separation_of_duties":{"author":true,"requester":true,"tags":["commit_author"]},"stale":{"tags":["model_card"]},)"
      R"("target":"stage:Production","wait":{"at_least":"1d","in_stage":"Staging"}})");
  auto again = ParsePolicy(canonical);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, p);
  EXPECT_EQ(PolicyCanonicalJson(*again), canonical);
  EXPECT_EQ(PolicyDigest(p).size(), 64u);
  EXPECT_EQ(PolicyDigest(*again), PolicyDigest(p));
}

TEST(PolicyCanonical, DefaultsWrittenOutOrLeftOutGiveOneDigest) {
  auto terse = ParsePolicyFile(OnePolicy("    checks: [a]\n"));
  auto explicit_defaults = ParsePolicyFile(
      OnePolicy("    checks: [a]\n    separation_of_duties: {requester: true, author: true}\n"
                "    comment_required: false\n    enforcement: enforce\n    on_approval: apply\n"));
  ASSERT_TRUE(terse.ok() && explicit_defaults.ok());
  EXPECT_EQ(PolicyDigest((*terse)[0]), PolicyDigest((*explicit_defaults)[0]));
  auto other = ParsePolicyFile(OnePolicy("    checks: [b]\n"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(PolicyDigest((*terse)[0]), PolicyDigest((*other)[0]));
}

TEST(PolicyCanonical, RoundTripsStringsThatNeedEscapes) {
  auto parsed =
      ParsePolicyFile(OnePolicy(R"(    conditions: ['tags.note = "a \\ b"', "params.x != 'it\\'s'"]
)"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto again = ParsePolicy(PolicyCanonicalJson((*parsed)[0]));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, (*parsed)[0]);
}

TEST(PolicyDuration, ParsesTheGrammarAndFormatsWithTheLargestUnit) {
  EXPECT_EQ(*ParsePolicyDuration("30m"), 30 * 60'000LL);
  EXPECT_EQ(*ParsePolicyDuration("24h"), 86'400'000LL);
  EXPECT_EQ(*ParsePolicyDuration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*ParsePolicyDuration("2w"), 14 * 86'400'000LL);
  EXPECT_EQ(*ParsePolicyDuration("3650d"), 3650 * 86'400'000LL);
  EXPECT_EQ(FormatPolicyDuration(90 * 60'000LL), "90m");
  EXPECT_EQ(FormatPolicyDuration(86'400'000LL), "1d");
  EXPECT_EQ(FormatPolicyDuration(36 * 3'600'000LL), "36h");
  EXPECT_EQ(FormatPolicyDuration(14 * 86'400'000LL), "2w");
  EXPECT_EQ(ParsePolicyDuration("30s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePolicyDuration("").status().code(), StatusCode::kInvalidArgument);
}

TEST(Target, ParsesAndFormatsEveryKindRoundTrip) {
  for (std::string_view text :
       {"stage:Production", "stage:Staging", "alias:champion", "alias:Production", "env:prod-eu"}) {
    auto t = ParseTarget(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status().ToString();
    EXPECT_EQ(FormatTarget(*t), text);
    EXPECT_EQ(*ParseTarget(FormatTarget(*t)), *t);
  }
  EXPECT_EQ(ParseTarget("alias:Production")->kind, TargetKind::kAlias);
  EXPECT_EQ(FormatTarget(*ParseTarget("stage:PRODUCTION")), "stage:Production");
}

TEST(Target, RefusesABareNameSayingHowToWriteIt) {
  auto t = ParseTarget("champion");
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(),
            "'champion' is not a typed target: write stage:champion for a stage or alias:champion "
            "for an alias (targets are stage:Staging, stage:Production, alias:NAME)");
}

TEST(Target, RefusesUngatableStagesUnknownKindsAndBadNames) {
  for (std::string_view bad : {"stage:None", "stage:Archived", "stage:Prod", "model:x",
                               "alias:", "alias:latest", "alias:v2", "env:", "env:a b", ""}) {
    EXPECT_EQ(ParseTarget(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Requesters, AnyoneWithEditWhenUnlistedOtherwiseOnlyThoseListed) {
  Policy p;
  Person ana{.id = 1, .username = "ana", .roles = {"data-scientist"}};
  EXPECT_TRUE(CanRequest(p, ana));
  p.requesters = {{RefKind::kRole, "ml-engineer"}};
  EXPECT_FALSE(CanRequest(p, ana));
  p.requesters.push_back({RefKind::kUser, "ana"});
  EXPECT_TRUE(CanRequest(p, ana));
  EXPECT_FALSE(CanBreakGlass(p, ana));
  p.break_glass = {{RefKind::kGroup, "sre"}};
  ana.groups = {"sre"};
  EXPECT_TRUE(CanBreakGlass(p, ana));
  // A role and a group may share a name: the reference's kind decides.
  p.break_glass = {{RefKind::kRole, "sre"}};
  EXPECT_FALSE(CanBreakGlass(p, ana));
}

// Every ```yaml block of docs/approvals.md parses, and passes the whole-set check of apply.
TEST(PolicyFile, EveryExampleInTheApprovalsGuideIsAValidPolicySet) {
  std::filesystem::path doc =
      std::filesystem::path(__FILE__).parent_path() / "../../../docs/approvals.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in.good()) << "cannot read " << doc;
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  int blocks = 0;
  for (size_t at = all.find("```yaml\n"); at != std::string::npos;
       at = all.find("```yaml\n", at + 1)) {
    size_t start = at + 8;
    size_t end = all.find("```", start);
    ASSERT_NE(end, std::string::npos);
    std::string yaml = all.substr(start, end - start);
    auto parsed = ParsePolicyFile(yaml);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << yaml;
    EXPECT_TRUE(CheckPolicySet(*parsed).ok()) << CheckPolicySet(*parsed).ToString();
    ++blocks;
  }
  EXPECT_GE(blocks, 3);
}

TEST(PolicyReferences, ListsEveryReferenceOnceSortedByKindAndName) {
  auto parsed = ParsePolicyFile(kIssueExample);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(References((*parsed)[0]), (std::vector<Ref>{{RefKind::kRole, "business-owner"},
                                                        {RefKind::kRole, "data-scientist"},
                                                        {RefKind::kRole, "ml-engineer"},
                                                        {RefKind::kGroup, "sre-oncall"},
                                                        {RefKind::kUser, "ana"}}));
}

}  // namespace
}  // namespace vouch::policy
