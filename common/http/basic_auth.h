// HTTP basic authentication against exporter-toolkit's basic_auth_users (bcrypt hashes). A bcrypt check
// at cost 10 takes ~70 ms, so verdicts are cached in a small bounded map keyed by a keyed hash of
// (user, password, stored hash): plain passwords are never stored. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace topdog::http {

struct BasicCredentials {
  std::string user;
  std::string password;  // secret: never logged
};

// Parses an Authorization header value "Basic base64(user:password)" (scheme case-insensitive, strict
// padded base64, split at the first ':'), as Go's Request.BasicAuth. nullopt when absent or malformed.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// Whether password matches a bcrypt hash ($2a$, $2b$, $2y$), computed with libxcrypt's crypt_r and
// compared in constant time. Any other hash format, or a password with a NUL byte, never matches.
bool BcryptMatches(const std::string& password, const std::string& hash);

class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(size_t cache_capacity = 256);

  // users: user -> bcrypt hash. An unknown user costs a bcrypt run against a dummy hash, so response
  // time does not reveal which users exist.
  bool Check(const std::map<std::string, std::string>& users, const BasicCredentials& credentials);

  // Number of bcrypt computations so far (tests check that the cache is used).
  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

 private:
  std::string CacheKey(const std::string& user, const std::string& hash, const std::string& password) const;

  const size_t cache_capacity_;
  mutable std::once_flag hmac_key_once_;
  mutable std::array<unsigned char, 32> hmac_key_{};  // random per process: cache keys are useless outside it
  std::atomic<uint64_t> bcrypt_runs_{0};
  std::mutex mu_;
  std::unordered_map<std::string, bool> cache_;  // GUARDED_BY(mu_)
};

}  // namespace topdog::http
