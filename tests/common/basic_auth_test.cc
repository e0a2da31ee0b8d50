#include "common/http/basic_auth.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace topdog::http {
namespace {

// "user:hash" from an htpasswd fixture (tests/fixtures/web/PROVENANCE.md).
std::string FixtureHash(const std::string& file) {
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/web/" + file);
  std::string line;
  std::getline(in, line);
  return line.substr(line.find(':') + 1);
}

TEST(ParseBasicAuthorizationTest, DecodesUserAndPassword) {
  // base64("alice:alice-secret-1")
  auto credentials = ParseBasicAuthorization("Basic YWxpY2U6YWxpY2Utc2VjcmV0LTE=");
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->user, "alice");
  EXPECT_EQ(credentials->password, "alice-secret-1");
}

TEST(ParseBasicAuthorizationTest, SchemeIsCaseInsensitiveAndPasswordMayContainColons) {
  // base64("u:a:b")
  auto credentials = ParseBasicAuthorization("basic dTphOmI=");
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->user, "u");
  EXPECT_EQ(credentials->password, "a:b");
}

TEST(ParseBasicAuthorizationTest, RejectsOtherSchemesAndBadBase64) {
  EXPECT_FALSE(ParseBasicAuthorization("").has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Bearer YWxpY2U6eA==").has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U6eA").has_value());    // missing padding
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxp!2U6eA==").has_value());  // not base64
  EXPECT_FALSE(ParseBasicAuthorization("Basic YW=jZQ==").has_value());      // data after padding
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U=").has_value());      // "alice": no colon
}

TEST(BcryptMatchesTest, ChecksPasswordAgainstHtpasswdHash) {
  std::string hash = FixtureHash("carol-cost4.htpasswd");
  EXPECT_TRUE(BcryptMatches("carol-secret-3", hash));
  EXPECT_FALSE(BcryptMatches("carol-secret-4", hash));
  EXPECT_FALSE(BcryptMatches("", hash));
}

TEST(BcryptMatchesTest, RejectsNonBcryptHashesAndEmbeddedNul) {
  std::string hash = FixtureHash("carol-cost4.htpasswd");
  EXPECT_FALSE(BcryptMatches(std::string("carol-secret-3\0x", 16), hash));
  // SHA-512 crypt of "x" (`openssl passwd -6 -salt salt x`): crypt_r would accept it, exporter-toolkit
  // only knows bcrypt.
  EXPECT_FALSE(BcryptMatches(
      "x", "$6$salt$wZU8LXJfJJqoagopbB7RuK6JEotEMZ0CQDy0phpPAuLMYQFcmf6L6BdAbs/Q7w7o1qsZ9pFqFVY4yuUSWgaYt1"));
  EXPECT_FALSE(BcryptMatches("x", ""));
  EXPECT_FALSE(BcryptMatches("x", "$2y$10$short"));
}

TEST(BasicAuthenticatorTest, CachesSuccessfulAndFailedVerdicts) {
  std::map<std::string, std::string> users = {{"carol", FixtureHash("carol-cost4.htpasswd")}};
  BasicAuthenticator authenticator;
  EXPECT_TRUE(authenticator.Check(users, {"carol", "carol-secret-3"}));
  EXPECT_TRUE(authenticator.Check(users, {"carol", "carol-secret-3"}));
  EXPECT_EQ(authenticator.bcrypt_runs(), 1u);
  EXPECT_FALSE(authenticator.Check(users, {"carol", "wrong"}));
  EXPECT_FALSE(authenticator.Check(users, {"carol", "wrong"}));
  EXPECT_EQ(authenticator.bcrypt_runs(), 2u);
}

TEST(BasicAuthenticatorTest, VerdictDependsOnTheStoredHash) {
  BasicAuthenticator authenticator;
  std::map<std::string, std::string> users = {{"carol", FixtureHash("carol-cost4.htpasswd")}};
  EXPECT_TRUE(authenticator.Check(users, {"carol", "carol-secret-3"}));
  // A reload that changes carol's hash must not be answered from the cache.
  users["carol"] = FixtureHash("alice.htpasswd");
  EXPECT_FALSE(authenticator.Check(users, {"carol", "carol-secret-3"}));
  EXPECT_EQ(authenticator.bcrypt_runs(), 2u);
}

TEST(BasicAuthenticatorTest, UnknownUserIsRejectedAfterADummyBcryptRun) {
  std::map<std::string, std::string> users = {{"carol", FixtureHash("carol-cost4.htpasswd")}};
  BasicAuthenticator authenticator;
  EXPECT_FALSE(authenticator.Check(users, {"mallory", "carol-secret-3"}));
  EXPECT_EQ(authenticator.bcrypt_runs(), 1u);
  EXPECT_FALSE(authenticator.Check({}, {"carol", "carol-secret-3"}));
}

TEST(BasicAuthenticatorTest, CacheIsBounded) {
  std::map<std::string, std::string> users = {{"carol", FixtureHash("carol-cost4.htpasswd")}};
  BasicAuthenticator authenticator(/*cache_capacity=*/1);
  EXPECT_FALSE(authenticator.Check(users, {"carol", "a"}));
  EXPECT_FALSE(authenticator.Check(users, {"carol", "b"}));  // evicts "a"
  EXPECT_FALSE(authenticator.Check(users, {"carol", "a"}));
  EXPECT_EQ(authenticator.bcrypt_runs(), 3u);
}

}  // namespace
}  // namespace topdog::http
