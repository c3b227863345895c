// The route table: method + path pattern -> handler, with the access each route needs declared in
// the table itself (a test walks it), and the doors (door.h) the routes belong to. Patterns are
// literal segments and `{name}` captures; a last segment `{name...}` captures the rest of the path
// (one segment or more, none empty, joined with '/': the tlog tile paths). Captured segments arrive
// percent-decoded. Immutable after start-up, so thread-safe for lookups.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/api/door.h"
#include "vouch/api/http.h"
#include "vouch/domain/principal.h"
#include "vouch/util/status.h"

namespace vouch::api {

// What a route demands: the table's declaration, one per route on every door. The dispatcher
// authenticates every route but the public ones; the service enforces the rest (authorizer.h), so
// the rules live once. A test walks the whole table and checks each route with principals of each
// level against its declaration.
enum class Access {
  kPublic,         // no credentials (health, readiness)
  kAuthenticated,  // any principal: what it sees is filtered to what it may read (lists,
                   // searches, whoami, its own tokens and password)
  kModelRead,      // READ on the model the request names
  kModelEdit,      // EDIT on it
  kModelManage,    // MANAGE on it (deletes, permissions)
  kAdmin,          // admins (users, groups, roles)
};
std::string_view AccessName(Access a);

using PathParams = std::map<std::string, std::string, std::less<>>;

// The decoded query string: repeated keys keep every value, in order.
struct QueryParams {
  std::vector<std::pair<std::string, std::string>> items;
  const std::string* First(std::string_view key) const;
  std::vector<std::string> All(std::string_view key) const;
};

struct Call {
  RequestContext& ctx;
  const HttpRequest& request;
  const PathParams& path;
  const QueryParams& query;
};

using Handler = std::function<Result<HttpResponse>(const Call&)>;

struct Route {
  std::string method;
  std::string pattern;
  Access access;
  Door door;
  Handler handler;
  std::vector<std::string> segments;  // the pattern split on '/'
};

class Router {
 public:
  // A route of `door`: found only for requests that door recognises.
  void Add(std::string method, std::string pattern, Access access, Door door, Handler handler);
  // Declares a door (door.h). Several specs may share one Door (MLflow's v2 and v3 prefixes).
  void AddDoor(DoorSpec spec);

  struct Match {
    const Route* route = nullptr;
    PathParams params;
    std::vector<std::string> allowed_methods;  // when the path matched but the method did not
  };
  // Among the routes of `door`; `segments` are the request path's decoded segments.
  Match Find(Door door, std::string_view method, const std::vector<std::string>& segments) const;

  // The door whose recogniser matches the request most specifically (door.h), or null when none
  // does. `path` is the request's percent-encoded path.
  const DoorSpec* DoorFor(const HttpRequest& request, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<DoorSpec> doors_;
  // Every door's recognisers, most specific first: (recogniser, index into doors_).
  std::vector<std::pair<Recogniser, size_t>> recognisers_;
};

}  // namespace vouch::api
