#include "vouch/api/mlflow/search_filter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace vouch::api::mlflow {
namespace {

using service::Comparator;
using service::Condition;
using service::OrderField;
using service::SearchKey;

std::vector<Condition> Models(std::string_view filter) {
  auto r = ParseSearchFilter(filter, SearchEntity::kModels);
  EXPECT_TRUE(r.ok()) << filter << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<Condition>{};
}

std::vector<Condition> Versions(std::string_view filter) {
  auto r = ParseSearchFilter(filter, SearchEntity::kVersions);
  EXPECT_TRUE(r.ok()) << filter << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<Condition>{};
}

// The INVALID_ARGUMENT message for a filter that must be refused.
std::string Error(std::string_view filter, SearchEntity entity = SearchEntity::kVersions) {
  auto r = ParseSearchFilter(filter, entity);
  EXPECT_FALSE(r.ok()) << filter << " parsed";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << filter;
  return r.status().message();
}

std::string OrderError(std::vector<std::string> clauses,
                       SearchEntity entity = SearchEntity::kVersions) {
  auto r = ParseOrderBy(clauses, entity);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(SearchFilter, EmptyOrBlankFilterHasNoConditions) {
  EXPECT_TRUE(Models("").empty());
  EXPECT_TRUE(Models("   ").empty());
}

TEST(SearchFilter, NameEqualityBecomesOneCondition) {
  auto c = Models("name = 'my-model'");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key, SearchKey::kName);
  EXPECT_EQ(c[0].op, Comparator::kEq);
  EXPECT_EQ(c[0].values, std::vector<std::string>{"my-model"});
}

TEST(SearchFilter, EveryStringComparatorParsesInAnyCase) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},      {"!=", Comparator::kNe},       {"LIKE", Comparator::kLike},
      {"like", Comparator::kLike}, {"ILIKE", Comparator::kILike}, {"iLike", Comparator::kILike}};
  for (const auto& [op, want] : cases) {
    auto c = Models(fmt::format("name {} 'a%'", op));
    ASSERT_EQ(c.size(), 1u) << op;
    EXPECT_EQ(c[0].op, want) << op;
    EXPECT_EQ(c[0].values.at(0), "a%");
  }
}

TEST(SearchFilter, VersionNumberTakesEveryNumericComparator) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},  {"!=", Comparator::kNe}, {"<", Comparator::kLt},
      {"<=", Comparator::kLe}, {">", Comparator::kGt},  {">=", Comparator::kGe}};
  for (const auto& [op, want] : cases) {
    auto c = Versions(fmt::format("version_number {} 12", op));
    ASSERT_EQ(c.size(), 1u) << op;
    EXPECT_EQ(c[0].key, SearchKey::kVersionNumber);
    EXPECT_EQ(c[0].op, want) << op;
    EXPECT_EQ(c[0].number, 12);
  }
  EXPECT_EQ(Versions("version_number>=-1")[0].number, -1);
}

TEST(SearchFilter, QuotedVersionNumberIsReadAsAnInteger) {
  EXPECT_EQ(Versions("version_number = '7'")[0].number, 7);
  EXPECT_EQ(Error("version_number = 'seven'"),
            "Invalid value for numeric attribute 'version_number': 'seven'");
  EXPECT_EQ(Error("version_number = 1.5"),
            "Invalid value for numeric attribute 'version_number': 1.5");
}

TEST(SearchFilter, ConditionsJoinWithAndInAnyCase) {
  auto c =
      Versions("name = 'm' and run_id = 'r' AnD source_path LIKE 's3://%' AND version_number > 2");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].key, SearchKey::kName);
  EXPECT_EQ(c[1].key, SearchKey::kRunId);
  EXPECT_EQ(c[2].key, SearchKey::kSourcePath);
  EXPECT_EQ(c[2].op, Comparator::kLike);
  EXPECT_EQ(c[3].key, SearchKey::kVersionNumber);
}

TEST(SearchFilter, DoubleQuotedValuesAreStrings) {
  EXPECT_EQ(Models("name = \"it's\"")[0].values.at(0), "it's");
}

TEST(SearchFilter, TagKeysTakeEitherPrefixAndBackticksOrQuotes) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"tags.team = 'x'", "team"},         {"tag.team = 'x'", "team"},
      {"tags.`my key` = 'x'", "my key"},   {"tag.`a.b-c` = 'x'", "a.b-c"},
      {"tags.\"my key\" = 'x'", "my key"}, {"tags.mlflow.source.type = 'x'", "mlflow.source.type"}};
  for (const auto& [filter, key] : cases) {
    auto c = Models(filter);
    ASSERT_EQ(c.size(), 1u) << filter;
    EXPECT_EQ(c[0].key, SearchKey::kTag) << filter;
    EXPECT_EQ(c[0].tag_key, key) << filter;
    EXPECT_EQ(c[0].values.at(0), "x");
  }
}

TEST(SearchFilter, ThePromptFilterTheClientAppendsParses) {
  auto c = Models("name LIKE 'fraud%' AND tag.`mlflow.prompt.is_prompt` != 'true'");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].key, SearchKey::kTag);
  EXPECT_EQ(c[1].tag_key, "mlflow.prompt.is_prompt");
  EXPECT_EQ(c[1].op, Comparator::kNe);
  EXPECT_EQ(c[1].values.at(0), "true");
  EXPECT_EQ(Versions("tag.`mlflow.prompt.is_prompt` != 'true'").size(), 1u);
}

TEST(SearchFilter, InListsForRunIdAndName) {
  auto c = Versions("run_id IN ('a', \"b\",'c')");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key, SearchKey::kRunId);
  EXPECT_EQ(c[0].op, Comparator::kIn);
  EXPECT_EQ(c[0].values, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Versions("name in ('m',)")[0].values, std::vector<std::string>{"m"});
  EXPECT_EQ(Models("name IN ('m1', 'm2')")[0].op, Comparator::kIn);
}

TEST(SearchFilter, AttributePrefixIsAccepted) {
  EXPECT_EQ(Models("attribute.name = 'm'")[0].key, SearchKey::kName);
}

TEST(SearchFilter, TrailingAndRepeatedAndAreToleratedAsMlflowDoes) {
  EXPECT_EQ(Models("name = 'm' AND").size(), 1u);
  EXPECT_EQ(Models("name = 'm' AND AND tags.k = 'v'").size(), 2u);
}

TEST(SearchFilter, OrIsNamedAsTheInvalidClause) {
  EXPECT_EQ(Error("name = 'a' OR name = 'b'", SearchEntity::kModels),
            "Invalid clause(s) in filter string: OR");
}

TEST(SearchFilter, IncompleteClauseNamesEachOfItsTokens) {
  EXPECT_EQ(Error("name LIKE"), "Invalid clause(s) in filter string: name, LIKE");
  EXPECT_EQ(Error("name = 'm' and foo"), "Invalid clause(s) in filter string: foo");
  EXPECT_EQ(Error("name"), "Invalid clause(s) in filter string: name");
}

TEST(SearchFilter, ParenthesesAreRefusedWhole) {
  EXPECT_EQ(Error("(name = 'm')", SearchEntity::kModels),
            "Invalid clause(s) in filter string: (name = 'm')");
}

TEST(SearchFilter, UnclosedQuoteIsAnInvalidClause) {
  EXPECT_EQ(Error("name = 'oops"), "Invalid clause(s) in filter string: name, =, 'oops");
}

TEST(SearchFilter, SeveralStatementsAreRefused) {
  EXPECT_EQ(Error("name = 'a'; name = 'b'"),
            "Search filter contained multiple expression \"name = 'a'; name = 'b'\". Provide "
            "AND-ed expression list.");
}

TEST(SearchFilter, UnknownKeysNameTheKeyAndTheValidOnes) {
  EXPECT_EQ(Error("foo = 'x'", SearchEntity::kModels),
            "Invalid attribute key 'foo' specified. Valid keys are '{'name'}'");
  EXPECT_EQ(Error("version_number = 1", SearchEntity::kModels),
            "Invalid attribute key 'version_number' specified. Valid keys are '{'name'}'");
  EXPECT_EQ(Error("creation_timestamp > 0"),
            "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'name', "
            "'run_id', 'source_path', 'version_number'}'");
  EXPECT_EQ(Error("`name` = 'm'", SearchEntity::kModels),
            "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'");
}

TEST(SearchFilter, UnknownEntityTypeIsNamed) {
  EXPECT_EQ(Error("params.x = 'y'"),
            "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')");
}

TEST(SearchFilter, UnquotedStringValueIsRefused) {
  EXPECT_EQ(Error("name = m2"),
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value m2. Use either single or double quotes.");
}

TEST(SearchFilter, NumbersAreRefusedForStringKeys) {
  EXPECT_EQ(Error("tags.k = 5"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5");
  EXPECT_EQ(Error("name = 5", SearchEntity::kModels),
            "Expected a quoted string value or a list of quoted string values for attributes. Got "
            "value 5");
  EXPECT_EQ(Error("run_id = 5"),
            "Only the '{'creation_timestamp', 'last_updated_timestamp', 'version_number'}' "
            "attributes support comparison with numeric values.");
}

TEST(SearchFilter, ComparatorsAreCheckedPerKind) {
  EXPECT_EQ(Error("tags.k > 'v'"), "Invalid comparator for tag: >");
  EXPECT_EQ(Error("name < 'x'", SearchEntity::kModels), "Invalid comparator for attribute: <");
  EXPECT_EQ(Error("name == 'x'", SearchEntity::kModels), "Invalid comparator for attribute: ==");
  EXPECT_EQ(Error("version_number LIKE 1"),
            "Invalid comparator for attribute version_number: LIKE");
}

TEST(SearchFilter, InListsAreCheckedAsMlflowChecksThem) {
  EXPECT_EQ(Error("source_path IN ('x')"),
            "Only ['name', 'run_id'] attributes support comparison with a list of quoted string "
            "values.");
  EXPECT_EQ(Error("run_id IN ()"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got empty list");
  EXPECT_EQ(Error("run_id IN (1,2)"),
            "While parsing a list in the query, expected string value, punctuation, or "
            "whitespace, but got different type in list: (1, 2)");
  EXPECT_EQ(Error("run_id IN ('a' 'b')"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got ill-formed list.");
  EXPECT_EQ(Error("tags.k IN ('a')"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')");
}

TEST(SearchFilter, EveryClauseIsParsedBeforeComparatorsAreChecked) {
  // MLflow reports the bad key of the second clause before the bad comparator of the first.
  EXPECT_EQ(Error("tags.k > 'v' AND foo = 'x'"),
            "Invalid attribute key 'foo' specified. Valid keys are '{'name', 'run_id', "
            "'source_path', 'version_number'}'");
}

TEST(SearchFilter, ArbitraryInputIsAnswerNotACrash) {
  // Fragments of the grammar, shuffled: every result is a value or INVALID_ARGUMENT.
  const std::string_view pieces[] = {"name",      " ",
                                     "=",         "!=",
                                     "<",         ">=",
                                     "'",         "\"",
                                     "`",         "(",
                                     ")",         ",",
                                     ";",         "AND",
                                     "and",       "OR",
                                     "IN",        "NOT",
                                     "LIKE",      "tags.",
                                     "tag.",      "version_number",
                                     "run_id",    "-",
                                     ".",         "1",
                                     "2.5",       "'x'",
                                     "\\",        "e",
                                     "\xc3\xa9",  "%",
                                     "attribute."};
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string filter;
    int n = static_cast<int>(next() % 12);
    for (int k = 0; k < n; ++k) filter += pieces[next() % std::size(pieces)];
    for (SearchEntity e : {SearchEntity::kModels, SearchEntity::kVersions}) {
      auto r = ParseSearchFilter(filter, e);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << filter;
      }
      auto o = ParseOrderBy({filter}, e);
      if (!o.ok()) {
        EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << filter;
      }
    }
  }
}

TEST(OrderBy, KeysAndDirections) {
  auto r = ParseOrderBy({"name", "last_updated_timestamp DESC", "creation_timestamp asc"},
                        SearchEntity::kModels);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].field, OrderField::kName);
  EXPECT_TRUE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].field, OrderField::kLastUpdatedTime);
  EXPECT_FALSE((*r)[1].ascending);
  EXPECT_EQ((*r)[2].field, OrderField::kCreationTime);
  EXPECT_TRUE((*r)[2].ascending);
}

TEST(OrderBy, TimestampIsMlflowsAliasOfLastUpdatedForModels) {
  auto r = ParseOrderBy({"timestamp DESC"}, SearchEntity::kModels);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].field, OrderField::kLastUpdatedTime);
}

TEST(OrderBy, VersionNumberOnlyForVersions) {
  auto r = ParseOrderBy({"version_number DESC", "`name`"}, SearchEntity::kVersions);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].field, OrderField::kVersionNumber);
  EXPECT_EQ((*r)[1].field, OrderField::kName);
  EXPECT_EQ(OrderError({"version_number"}, SearchEntity::kModels),
            "Invalid order by key 'version_number' specified. Valid keys are '{'name', "
            "'timestamp'}'");
}

TEST(OrderBy, BadClausesAreNamed) {
  EXPECT_EQ(OrderError({"size"}),
            "Invalid attribute key 'size' specified. Valid keys are '{'creation_timestamp', "
            "'last_updated_timestamp', 'name', 'version_number'}'");
  EXPECT_EQ(OrderError({"name sideways"}),
            "Invalid ordering key in order_by clause 'name sideways'.");
  EXPECT_EQ(OrderError({"name DESC extra"}),
            "Invalid order_by clause 'name DESC extra'. Could not be parsed.");
  EXPECT_EQ(OrderError({""}), "Invalid order_by clause ''. Could not be parsed.");
}

TEST(OrderBy, DuplicateFieldsAreRefused) {
  EXPECT_EQ(OrderError({"name", "name DESC"}),
            "`order_by` contains duplicate fields: ['name', 'name DESC']");
  EXPECT_EQ(OrderError({"timestamp", "last_updated_timestamp"}, SearchEntity::kModels),
            "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp']");
}

TEST(PythonRepr, QuotesAsPythonDoes) {
  EXPECT_EQ(PythonRepr("abc"), "'abc'");
  EXPECT_EQ(PythonRepr("it's"), "\"it's\"");
  EXPECT_EQ(PythonRepr("a'b\"c"), "'a\\'b\"c'");
  EXPECT_EQ(PythonRepr("x\ny"), "'x\\ny'");
}

}  // namespace
}  // namespace vouch::api::mlflow
