/**
 * api/rules — rules over REST, for users (docs/rules.md). Every rule is its owner's: another
 * user's rule answers 404 exactly like a missing one.
 *
 *   POST   /v1/rules                   user  create: the definition (rules/rule_def.h)
 *                                            -> 201 the rule; 400 naming the field (and,
 *                                            for the language, the position); 409
 *                                            quota_exceeded past max-rules-per-user
 *   GET    /v1/rules                   user  {rules: [rule]} oldest first
 *   GET    /v1/rules/{id}              user  the rule with its counters
 *   PATCH  /v1/rules/{id}              user  top-level fields of the definition replaced
 *   DELETE /v1/rules/{id}              user  204
 *   POST   /v1/rules/{id}/enable       user  the rule, enabled
 *   POST   /v1/rules/{id}/disable      user  the rule, disabled
 *   GET    /v1/rules/{id}/deadletters  user  {deadletters: [{id, at, reason, message}]}
 *                                            newest first (?limit=, default 100)
 *   POST   /v1/rules/test              user  {rule, topic, payload, device?, timestamp?} ->
 *                                            {matched, selection, actions: [what each
 *                                            action would do]}; no side effects
 *
 * A rule: the definition's fields plus id, enabled, created_at, updated_at (ms) and
 * counters {matched, actions_ok, actions_failed, dropped, last_error, last_error_at}.
 * A republish action must target one of the caller's devices (400 otherwise).
 *
 * Threading: rules_add_routes on the main thread; handlers on the loops, store work in
 * jobs; the engine is told of a change after its commit.
 */
#ifndef IOT_API_RULES_RULES_H
#define IOT_API_RULES_RULES_H

#include "api/api.h"

int rules_add_routes(http_server *s);

#endif
