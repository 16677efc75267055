#pragma once
// What a running serve answers to a login, as the broker asks it: the
// tests that log in through the binary share this one request.
#include <doctest/doctest.h>
#include <httplib.h>

#include <string>

namespace authsvc::testing {

inline std::string login_answer(httplib::Client& http, const std::string& user,
                                const std::string& password) {
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + password,
                     "application/x-www-form-urlencoded");
  REQUIRE(r);
  return r->body;
}

}  // namespace authsvc::testing
