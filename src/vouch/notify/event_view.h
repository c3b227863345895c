// What every format reads from an outbox payload (the canonical audit event with the outbox's
// extras): the event as receivers see it (the request's client address and user agent left out),
// its subject, links into the native API, and a one-line summary for people. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "vouch/notify/format.h"
#include "vouch/util/json.h"

namespace vouch::notify {

// The event as every format shows it: each member of the payload except `source` (the door, the
// client's address and user agent), of which only the door is kept, as "door". Extras such as
// request.opened's "recipients" stay.
json::object PublicEventData(const json::object& event);

// Links into the native API (under `public_url`, without a trailing slash): "request"
// (/api/v1/requests/ID) when the event is about a request, "version"
// (/api/v1/models/NAME/versions/N) when it names a version, "model" (/api/v1/models/NAME) when
// it names a model. Empty when `public_url` is empty or the event names none of these.
json::object EventLinks(const json::object& event, std::string_view public_url);

// The link a person most wants: the request's, else the version's, else the model's; "" if none.
std::string PrimaryLink(const json::object& links);

// What the event is about, as a path: "requests/12", "models/fraud/versions/3",
// "models/fraud/aliases/champion", "models/fraud", "policies/prod"; "" when it names none.
std::string EventSubject(const json::object& event);

// One line of plain text: who did what to what ("alice opened request #12 (fraud version 3 to
// stage:Production)"). Newlines and other control characters in names become spaces.
std::string EventSummary(const json::object& event);

// A member of `o` as text: a string as is, a number in its JSON form, "" when absent or null.
std::string TextOf(const json::object& o, std::string_view key);
// A member of `o` that is an object, or an empty one.
const json::object& ObjectOf(const json::object& o, std::string_view key);

}  // namespace vouch::notify
