// Who is calling, and through which door: the request context every service call carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/time.h"

namespace vouch {

enum class PrincipalKind { kUser, kServiceAccount };
std::string_view PrincipalKindName(PrincipalKind k);

struct Principal {
  int64_t id = 0;  // never reused, so an old audit event never points at a new person
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  bool is_admin = false;
  bool disabled = false;
  std::string display_name;
  std::string email;
  TimeMs created_ms = 0;
  // Filled in at authentication: the roles granted directly or through a group (sorted, unique),
  // and the groups the principal belongs to.
  std::vector<std::string> roles;
  std::vector<int64_t> group_ids;

  bool HasRole(std::string_view role) const;
};

// How the caller proved who it is.
enum class AuthMethod { kNone, kToken, kPassword, kSigV4, kSession, kSystem };
std::string_view AuthMethodName(AuthMethod m);

// The front door a call came through.
enum class Door { kNative, kMlflow, kSageMaker, kCli, kUi, kSystem };
std::string_view DoorName(Door d);

// The Idempotency-Key a request holds (service/idempotency.h): the key and when it was claimed,
// which names the claim in the store.
struct IdempotencyClaim {
  std::string key;
  TimeMs claimed_ms = 0;
};

// What a request names, as its door read it: a model by name and a version (0: none). The door
// fills it only for a refused request, so that the denial names the target it was refused on
// (AuthService::RecordDenial resolves the model); no rule reads it.
struct RequestSubject {
  std::string model;
  int64_t version = 0;
};

// One per request. The service reads identity and time only from here. Not thread-safe; owned by
// the request.
struct RequestContext {
  std::optional<Principal> principal;  // empty until authenticated
  AuthMethod auth = AuthMethod::kNone;
  Door door = Door::kNative;
  std::string address;     // client address as the audit log records it
  std::string user_agent;  // truncated to 256 bytes at the door
  std::string request_id;
  const Clock* clock = nullptr;
  // Authenticated with a token of scope "read": only what READ allows.
  bool read_only = false;
  // The identity a refused request tried to be (a username, a known token's owner), for the
  // denial record; never a secret.
  std::string attempted_identity;
  // Set while the request holds an idempotency key it claimed (service/idempotency.h).
  std::optional<IdempotencyClaim> idempotency;
  // What a refused request named (see RequestSubject); empty for every other request.
  std::optional<RequestSubject> subject;
  // The request's method and path (percent-encoded, no query, at most 512 bytes), which a denial
  // records.
  std::string method;
  std::string path;

  TimeMs Now() const { return clock->NowMs(); }
};

// The context for work the server does on its own behalf (bootstrap, timers).
RequestContext SystemContext(const Clock& clock);

}  // namespace vouch
