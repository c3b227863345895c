// Path matching: literal segments, `{name}` captures and a final `{name...}` that takes the rest.
#include "vouch/api/router.h"

#include <gtest/gtest.h>

namespace vouch::api {
namespace {

Handler Nothing() {
  return [](const Call&) -> Result<HttpResponse> { return HttpResponse::NoContent(); };
}

Router TileRouter() {
  Router router;
  router.Add("GET", "/log/tile/{level}/{path...}", Access::kPublic, Door::kNative, Nothing());
  router.Add("GET", "/log/tile/entries/{path...}", Access::kAdmin, Door::kNative, Nothing());
  router.Add("GET", "/log/checkpoint", Access::kPublic, Door::kNative, Nothing());
  return router;
}

TEST(Router, RestCaptureTakesEverySegmentAfterIt) {
  Router router = TileRouter();
  Router::Match m = router.Find(Door::kNative, "GET", {"log", "tile", "0", "x001", "x234", "067"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/log/tile/{level}/{path...}");
  EXPECT_EQ(m.params.at("level"), "0");
  EXPECT_EQ(m.params.at("path"), "x001/x234/067");
}

TEST(Router, RestCaptureTakesASingleSegment) {
  Router router = TileRouter();
  Router::Match m = router.Find(Door::kNative, "GET", {"log", "tile", "1", "000.p"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("path"), "000.p");
}

TEST(Router, LiteralSegmentBeatsACaptureBeforeARestCapture) {
  Router router = TileRouter();
  Router::Match m = router.Find(Door::kNative, "GET", {"log", "tile", "entries", "000.p", "5"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/log/tile/entries/{path...}");
  EXPECT_EQ(m.params.at("path"), "000.p/5");
}

TEST(Router, RestCaptureNeedsAtLeastOneNonEmptySegment) {
  Router router = TileRouter();
  EXPECT_EQ(router.Find(Door::kNative, "GET", {"log", "tile", "0"}).route, nullptr);
  EXPECT_EQ(router.Find(Door::kNative, "GET", {"log", "tile", "0", "x001", ""}).route, nullptr);
}

TEST(Router, OtherMethodOnARestRouteListsTheAllowedOnes) {
  Router router = TileRouter();
  Router::Match m = router.Find(Door::kNative, "POST", {"log", "tile", "0", "000"});
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed_methods, std::vector<std::string>{"GET"});
}

}  // namespace
}  // namespace vouch::api
