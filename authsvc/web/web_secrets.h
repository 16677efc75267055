#pragma once
// The web's secrets, all derived from tokens (core/token.h): 256 random
// bits each, kept by the browser in a cookie and by the store as a SHA-256.
//
// - A session id. Its CSRF token is derived from it (one token for every
//   form of the session, so that a second tab or a repeated delete never
//   meets a stale token): a SHA-256 under a label of its own, which the
//   store's hash of the id does not reveal and which reveals nothing of the
//   id. Nothing about it is stored.
// - A sign-in's browser secret, the cookie that binds a sign-in to the
//   browser that began it. The nonce and the PKCE verifier are derived from
//   it the same way, so the store keeps neither; the state is a token of its
//   own, sent to the provider.

#include <string>
#include <string_view>

namespace authsvc {

std::string csrf_token_for(std::string_view session_id);
// Whether `presented` is the session's CSRF token, in constant time.
bool csrf_token_matches(std::string_view presented, std::string_view session_id);

std::string sign_in_nonce(std::string_view browser_secret);
std::string sign_in_code_verifier(std::string_view browser_secret);

}  // namespace authsvc
