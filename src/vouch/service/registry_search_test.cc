// Searches page by page: every order, keyset page tokens, and pages cut after filtering.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vouch/service/registry.h"
#include "vouch/service/seed.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

class RegistrySearchTest : public ::testing::Test {
 protected:
  RegistrySearchTest() : registry_(db_.store(), PageTokens("search-test-key")) {
    ctx_.principal = Principal{.id = 7, .name = "alice", .is_admin = true};
    ctx_.clock = &clock_;
  }

  // 23 models, created in a shuffled name order with some equal times, each with a version or
  // two; every third one tagged, and some updated later, so that every order differs.
  void MakeRegistry() {
    for (int i = 0; i < 23; ++i) {
      const int n = (i * 7) % 23;
      const std::string name = fmt::format("m{:02}", n);
      ASSERT_TRUE(registry_.CreateModel(ctx_, {.name = name}).ok());
      ASSERT_TRUE(registry_.CreateVersion(ctx_, {.model = name, .source = "s3://b/1"}).ok());
      if (n % 2 == 0) {
        ASSERT_TRUE(registry_.CreateVersion(ctx_, {.model = name, .source = "s3://b/2"}).ok());
      }
      if (n % 3 == 0) {
        ASSERT_TRUE(registry_.SetModelTag(ctx_, name, "team", "x").ok());
      }
      if (i % 4 != 0) clock_.Advance(1);
    }
    for (int n : {5, 11, 17}) {
      clock_.Advance(3);
      ASSERT_TRUE(registry_.UpdateModelDescription(ctx_, fmt::format("m{:02}", n), "later").ok());
    }
  }

  std::vector<std::string> ModelsPaged(SearchRequest request, int page_size) {
    std::vector<std::string> out;
    request.max_results = page_size;
    do {
      auto page = registry_.SearchModels(ctx_, request);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      if (!page->next_page_token.empty()) {
        EXPECT_EQ(page->items.size(), static_cast<size_t>(page_size));
      }
      for (const auto& m : page->items) out.push_back(m.name);
      request.page_token = page->next_page_token;
    } while (!request.page_token.empty());
    return out;
  }

  std::vector<std::string> VersionsPaged(SearchRequest request, int page_size) {
    std::vector<std::string> out;
    request.max_results = page_size;
    do {
      auto page = registry_.SearchVersions(ctx_, request);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      for (const auto& v : page->items)
        out.push_back(fmt::format("{}/{}", v.model_name, v.version));
      request.page_token = page->next_page_token;
    } while (!request.page_token.empty());
    return out;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  RegistryService registry_;
  RequestContext ctx_;
};

TEST_F(RegistrySearchTest, ModelsPageByPageInEveryOrderMatchOneWholePage) {
  MakeRegistry();
  const std::vector<std::vector<OrderBy>> orders = {
      {},
      {{OrderField::kName, false}},
      {{OrderField::kCreationTime, true}},
      {{OrderField::kCreationTime, false}},
      {{OrderField::kLastUpdatedTime, false}},
      {{OrderField::kLastUpdatedTime, true}, {OrderField::kName, false}},
  };
  for (const auto& order : orders) {
    for (const auto& filter : std::vector<std::vector<Condition>>{
             {}, {{.key = SearchKey::kTag, .tag_key = "team", .values = {"x"}}}}) {
      SearchRequest request{.filter = filter, .order_by = order};
      std::vector<std::string> whole = ModelsPaged(request, 1000);
      EXPECT_EQ(whole.size(), filter.empty() ? 23u : 8u);
      for (int size : {1, 4, 7}) {
        EXPECT_EQ(ModelsPaged(request, size), whole)
            << "page size " << size << ", " << order.size() << " orders";
      }
    }
  }
  EXPECT_EQ(ModelsPaged({}, 1000).front(), "m00");
  EXPECT_EQ(ModelsPaged({.order_by = {{OrderField::kLastUpdatedTime, false}}}, 1000).front(),
            "m17");
}

TEST_F(RegistrySearchTest, VersionsPageByPageInEveryOrderMatchOneWholePage) {
  MakeRegistry();
  const std::vector<std::vector<OrderBy>> orders = {
      {},
      {{OrderField::kLastUpdatedTime, false}},
      {{OrderField::kVersionNumber, true}},
      {{OrderField::kName, false}, {OrderField::kVersionNumber, true}},
      {{OrderField::kCreationTime, true}},
  };
  for (const auto& order : orders) {
    SearchRequest request{.order_by = order};
    std::vector<std::string> whole = VersionsPaged(request, 1000);
    EXPECT_EQ(whole.size(), 23u + 12u);
    for (int size : {1, 5, 9}) EXPECT_EQ(VersionsPaged(request, size), whole);
  }
}

// Newest update first, with the page boundary inside a run of versions updated in the same
// millisecond: the walk reads on past a full page a row at a time, growing, until a row older than
// the last kept one, so the rows of that millisecond that sort before it (by name, then version
// descending, not by id) still enter the page.
TEST_F(RegistrySearchTest, NewestUpdateFirstPagesThroughARunOfOneMillisecond) {
  for (const char* name : {"t-c", "t-a", "t-b"}) {
    ASSERT_TRUE(registry_.CreateModel(ctx_, {.name = name}).ok());
  }
  for (int i = 0; i < 12; ++i) {
    if (i % 6 == 0) clock_.Advance(1);  // two milliseconds of 18 versions each
    for (const char* name : {"t-c", "t-a", "t-b"}) {
      ASSERT_TRUE(registry_.CreateVersion(ctx_, {.model = name, .source = "s3://b/t"}).ok());
    }
  }
  SearchRequest request{.order_by = {{OrderField::kLastUpdatedTime, false}}};
  std::vector<std::string> whole = VersionsPaged(request, 1000);
  ASSERT_EQ(whole.size(), 36u);
  EXPECT_EQ(whole.front(), "t-a/12");
  EXPECT_EQ(whole.at(17), "t-c/7");
  EXPECT_EQ(whole.at(18), "t-a/6");
  for (int size : {1, 2, 5, 10, 17, 18, 19, 35}) {
    EXPECT_EQ(VersionsPaged(request, size), whole) << "page size " << size;
  }
  request.filter = {{.key = SearchKey::kName, .values = {"t-b"}}};
  std::vector<std::string> one = VersionsPaged(request, 1000);
  ASSERT_EQ(one.size(), 12u);
  EXPECT_EQ(one.front(), "t-b/12");
  for (int size : {1, 5, 6, 7}) EXPECT_EQ(VersionsPaged(request, size), one);
}

// More models than one scan batch (1000): the scan used to restart from the first name once the
// last row of a batch had been moved into the results, and grew until memory ran out (issue 9,
// section 10).
TEST_F(RegistrySearchTest, SearchesOfMoreModelsThanOneScanBatchEndWithAFullPage) {
  ASSERT_TRUE(SeedRegistry(db_.store(), clock_, {.models = 2500, .batch = 2500}).ok());
  auto first = registry_.SearchModels(ctx_, {.max_results = 50});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->items.size(), 50u);
  EXPECT_EQ(first->items.front().name, "m00000");
  EXPECT_EQ(first->items.back().name, "m00049");
  auto like_all = registry_.SearchModels(
      ctx_, {.filter = {{.key = SearchKey::kName, .op = Comparator::kLike, .values = {"%"}}},
             .max_results = 5});
  ASSERT_TRUE(like_all.ok()) << like_all.status().ToString();
  EXPECT_EQ(like_all->items.size(), 5u);
  auto last =
      registry_.SearchModels(ctx_, {.order_by = {{OrderField::kName, false}}, .max_results = 1});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->items.at(0).name, "m02499");
  std::vector<std::string> all = ModelsPaged({}, 1000);
  ASSERT_EQ(all.size(), 2500u);
  EXPECT_EQ(all[1000], "m01000");
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

// A tag equality reads the ids carrying the tag first and loads details for those rows only; the
// answers are those of testing every row.
TEST_F(RegistrySearchTest, TagEqualitiesMatchAsTestingEveryRowWould) {
  MakeRegistry();
  ASSERT_TRUE(registry_.SetModelTag(ctx_, "m01", std::string(kPromptTag), "false").ok());
  ASSERT_TRUE(registry_.SetModelTag(ctx_, "m02", std::string(kPromptTag), "true").ok());
  auto tag = [](std::string key, Comparator op, std::string value) {
    return Condition{.key = SearchKey::kTag, .tag_key = key, .op = op, .values = {value}};
  };
  auto names = [&](std::vector<Condition> filter) {
    std::vector<std::string> out;
    auto page = registry_.SearchModels(ctx_, {.filter = filter, .max_results = 1000});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) {
      for (const auto& m : page->items) out.push_back(m.name);
    }
    return out;
  };
  EXPECT_EQ(names({tag("team", Comparator::kEq, "x")}),
            (std::vector<std::string>{"m00", "m03", "m06", "m09", "m12", "m15", "m18", "m21"}));
  EXPECT_EQ(names({tag("team", Comparator::kEq, "x"), tag("team", Comparator::kEq, "y")}),
            std::vector<std::string>{});
  EXPECT_EQ(names({tag("team", Comparator::kEq, "x"),
                   {.key = SearchKey::kName, .op = Comparator::kLike, .values = {"%1%"}}}),
            (std::vector<std::string>{"m12", "m15", "m18", "m21"}));
  // A model without the prompt tag is not a prompt: `= 'false'` matches it, not only m01.
  EXPECT_EQ(names({tag(std::string(kPromptTag), Comparator::kEq, "false")}).size(), 22u);
  EXPECT_EQ(names({tag(std::string(kPromptTag), Comparator::kEq, "true")}),
            std::vector<std::string>{"m02"});
  EXPECT_EQ(names({tag("nobody", Comparator::kEq, "x")}), std::vector<std::string>{});
}

TEST_F(RegistrySearchTest, APageTokenGoesOnAfterItsLastModelWhenAnEarlierOneIsDeleted) {
  MakeRegistry();
  auto first = registry_.SearchModels(ctx_, {.max_results = 3});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.back().name, "m02");
  ASSERT_TRUE(registry_.DeleteModel(ctx_, "m00").ok());
  auto second =
      registry_.SearchModels(ctx_, {.max_results = 3, .page_token = first->next_page_token});
  ASSERT_TRUE(second.ok());
  ASSERT_FALSE(second->items.empty());
  EXPECT_EQ(second->items.front().name, "m03");
}

TEST_F(RegistrySearchTest, PageTokensOfOtherListsAreInvalidArgument) {
  MakeRegistry();
  auto listed = registry_.ListModels(ctx_, {.limit = 2});
  ASSERT_TRUE(listed.ok());
  ASSERT_FALSE(listed->next_page_token.empty());
  EXPECT_EQ(registry_.SearchModels(ctx_, {.page_token = listed->next_page_token}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.SearchVersions(ctx_, {.page_token = "not-a-token"}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::service
