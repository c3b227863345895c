// The action catalogue against itself and against the two documents that list it: docs/api.md's
// table of actions and the AuditAction enum of docs/openapi.yaml.
#include "vouch/audit/actions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace vouch::audit {
namespace {

std::filesystem::path DocPath(std::string_view name) {
  return std::filesystem::path(__FILE__).parent_path() / "../../../docs" / name;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

struct DocRow {
  std::string name, target, webhooks, meaning;
};

// The rows of docs/api.md's table of actions: lines "| `name` | target | yes/no | meaning |".
std::vector<DocRow> ApiMdRows() {
  std::ifstream in(DocPath("api.md"));
  EXPECT_TRUE(in.good()) << "cannot read " << DocPath("api.md");
  std::vector<DocRow> out;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.starts_with("Actions:")) in_section = true;
    if (line.starts_with("## ")) in_section = false;
    if (!in_section || !line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    size_t from = 1;
    for (size_t bar; (bar = line.find('|', from)) != std::string::npos; from = bar + 1) {
      cells.push_back(Trim(std::string_view(line).substr(from, bar - from)));
    }
    EXPECT_EQ(cells.size(), 4u) << line;
    if (cells.size() != 4) continue;
    out.push_back({cells[0].substr(1, cells[0].size() - 2), cells[1], cells[2], cells[3]});
  }
  return out;
}

// The AuditAction enum of docs/openapi.yaml: its "        - name" lines.
std::vector<std::string> OpenApiEnum() {
  std::ifstream in(DocPath("openapi.yaml"));
  EXPECT_TRUE(in.good()) << "cannot read " << DocPath("openapi.yaml");
  std::vector<std::string> out;
  std::string line;
  bool in_schema = false;
  while (std::getline(in, line)) {
    if (line == "    AuditAction:") {
      in_schema = true;
    } else if (in_schema && line.starts_with("        - ")) {
      out.push_back(Trim(line.substr(10)));
    } else if (in_schema && !out.empty()) {
      break;
    }
  }
  return out;
}

TEST(ActionCatalogue, NamesAreUniqueAndFoundByName) {
  std::set<std::string_view> names;
  for (const ActionInfo& info : Actions()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name << " is listed twice";
    EXPECT_EQ(FindAction(info.name), info.action) << info.name;
    EXPECT_EQ(ActionName(info.action), info.name);
    EXPECT_FALSE(info.meaning.empty()) << info.name;
  }
  EXPECT_EQ(FindAction("model.exploded"), std::nullopt);
}

TEST(ActionCatalogue, KeepsTheNamesStoredLogsCarry) {
  // Stored events carry these strings; the catalogue must name them exactly as before.
  EXPECT_EQ(ActionName(Action::kModelCreated), "model.created");
  EXPECT_EQ(ActionName(Action::kVersionMetricDeleted), "model_version.metric_deleted");
  EXPECT_EQ(ActionName(Action::kVersionStageChanged), "model_version.stage_changed");
  EXPECT_EQ(ActionName(Action::kAliasSet), "model_alias.set");
  EXPECT_EQ(ActionName(Action::kPrincipalPasswordSet), "principal.password_set");
  EXPECT_EQ(ActionName(Action::kAccessDenied), "access.denied");
  EXPECT_EQ(Describe(Action::kAliasSet).target, TargetKind::kModelVersion);
  EXPECT_EQ(TargetKindName(TargetKind::kModelPermission), "model_permission");
}

TEST(ActionCatalogue, ApiMdTableListsEveryActionAsTheCatalogueDoes) {
  std::vector<DocRow> rows = ApiMdRows();
  ASSERT_EQ(rows.size(), Actions().size()) << "docs/api.md's table of actions has another length";
  for (size_t i = 0; i < rows.size(); ++i) {
    const ActionInfo& info = Actions()[i];
    EXPECT_EQ(rows[i].name, info.name) << "row " << i;
    EXPECT_EQ(rows[i].target, TargetKindName(info.target)) << info.name;
    EXPECT_EQ(rows[i].webhooks, info.webhooks ? "yes" : "no") << info.name;
    EXPECT_EQ(rows[i].meaning, info.meaning) << info.name;
  }
}

TEST(ActionCatalogue, OpenApiAuditActionEnumListsEveryActionInOrder) {
  std::vector<std::string> documented = OpenApiEnum();
  std::vector<std::string> catalogue;
  for (const ActionInfo& info : Actions()) catalogue.emplace_back(info.name);
  EXPECT_EQ(documented, catalogue);
}

}  // namespace
}  // namespace vouch::audit
