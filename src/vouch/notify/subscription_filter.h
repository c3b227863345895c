// Which events a subscription receives: its event patterns and its model glob, checked once when a
// subscription is made or changed (with messages naming the field) and matched at fan-out.
//
// An event pattern is an action's name from the catalogue (`request.opened`), a family
// (`request.*`: every action whose name starts with "request."), or `*` (every action). Only
// actions the catalogue lets webhooks subscribe to are ever matched: identity, secrets, refusals
// and the subscriptions' own changes never leave the server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"

namespace vouch::notify {

struct SubscriptionFilter {
  std::vector<std::string> events;  // patterns, as given (duplicates removed, order kept)
  std::string model_pattern;        // a glob (* and ?) over model names; empty: every model
};

// Checks `patterns`: INVALID_ARGUMENT naming the field ("events") and the pattern when one is
// empty, not a catalogue name, not a family with a subscribable action in it, or names an action
// webhooks may not subscribe to; and when there is none at all.
Status CheckEventPatterns(const std::vector<std::string>& patterns);
// INVALID_ARGUMENT naming the field ("model") when `glob` is longer than a model name may be or
// holds a control character.
Status CheckModelPattern(std::string_view glob);

// Whether `action` (a stored name) matches one of the patterns, and is one webhooks may receive.
bool MatchesEvent(const std::vector<std::string>& patterns, std::string_view action);
// Whether an event about `model` (empty when the event names no model) passes the model glob: an
// empty glob passes everything; a glob passes only events that name a model it matches.
bool MatchesModel(std::string_view model_pattern, std::string_view model);

// The subscribable actions' names, in catalogue order (for help texts and errors).
std::vector<std::string_view> SubscribableActions();

}  // namespace vouch::notify
