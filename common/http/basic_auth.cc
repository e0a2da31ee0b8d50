#include "common/http/basic_auth.h"

#include <crypt.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace topdog::http {
namespace {

// bcrypt (cost 10) of a random password that was never stored (see tests/fixtures/web/PROVENANCE.md).
constexpr const char* kDummyHash = "$2y$10$zAUuCeFGPc1vVJVNWgOcSenXsgVKGbfTtZfFjmS.hxZ3IxHEXHFr.";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard, padded base64 (Go's base64.StdEncoding, which Request.BasicAuth uses).
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int values[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        values[j] = 0;
        ++padding;
      } else {
        if (padding > 0) return std::nullopt;  // data after '='
        values[j] = Base64Value(c);
        if (values[j] < 0) return std::nullopt;
      }
    }
    uint32_t triple = (values[0] << 18) | (values[1] << 12) | (values[2] << 6) | values[3];
    out += static_cast<char>((triple >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((triple >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(triple & 0xff);
  }
  return out;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

void AppendLengthPrefixed(std::string& out, const std::string& part) {
  uint64_t size = part.size();
  out.append(reinterpret_cast<const char*>(&size), sizeof(size));
  out += part;
}

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value) {
  constexpr std::string_view kScheme = "Basic ";
  if (!StartsWithIgnoreCase(header_value, kScheme)) return std::nullopt;
  auto decoded = DecodeBase64(header_value.substr(kScheme.size()));
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  // crypt_r would also accept DES/MD5/SHA-crypt hashes; exporter-toolkit accepts bcrypt only.
  bool is_bcrypt = hash.size() > 7 && (hash.compare(0, 4, "$2a$") == 0 || hash.compare(0, 4, "$2b$") == 0 ||
                                       hash.compare(0, 4, "$2y$") == 0);
  // A C string would end at the NUL: "pw\0anything" must not match "pw".
  if (!is_bcrypt || password.find('\0') != std::string::npos) return false;
  // crypt_data is ~32 KiB: on the heap rather than a handler thread's stack; zeroed as crypt_r requires.
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  // libxcrypt returns NULL or a string starting with '*' on failure.
  if (computed == nullptr || computed[0] == '*') return false;
  size_t length = std::strlen(computed);
  bool match = length == hash.size() && CRYPTO_memcmp(computed, hash.data(), length) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return match;
}

BasicAuthenticator::BasicAuthenticator(size_t cache_capacity) : cache_capacity_(cache_capacity) {}

std::string BasicAuthenticator::CacheKey(const std::string& user, const std::string& hash,
                                         const std::string& password) const {
  // The key is drawn on first use: RAND_bytes initialises OpenSSL's providers (about 3 MB of libcrypto pages
  // resident), which an exporter without basic auth should not pay for.
  std::call_once(hmac_key_once_, [this] {
    if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1) {
      // Without randomness the key is fixed: the cache still holds no plain passwords, only keyed hashes.
      hmac_key_.fill(0x5c);
    }
  });
  std::string message;
  AppendLengthPrefixed(message, user);
  AppendLengthPrefixed(message, hash);
  AppendLengthPrefixed(message, password);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &digest_length);
  OPENSSL_cleanse(message.data(), message.size());
  return std::string(reinterpret_cast<const char*>(digest), digest_length);
}

bool BasicAuthenticator::Check(const std::map<std::string, std::string>& users, const BasicCredentials& credentials) {
  auto it = users.find(credentials.user);
  bool known = it != users.end();
  const std::string hash = known ? it->second : std::string(kDummyHash);
  std::string key = CacheKey(credentials.user, known ? hash : std::string(), credentials.password);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto cached = cache_.find(key); cached != cache_.end()) return cached->second;
  }
  // Outside the lock: concurrent scrapes must not queue behind one another's 70 ms.
  ++bcrypt_runs_;
  bool match = BcryptMatches(credentials.password, hash) && known;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= cache_capacity_ && !cache_.empty()) {
    // Bounded: evict an arbitrary entry (exporter-toolkit evicts a random one). Failed attempts with
    // random passwords thus cannot grow memory, only push out entries that are recomputed on demand.
    cache_.erase(cache_.begin());
  }
  cache_[key] = match;
  return match;
}

}  // namespace topdog::http
