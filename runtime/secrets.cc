#include "runtime/secrets.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace flowline {

namespace {
constexpr size_t kMaxSecretFileBytes = 64 * 1024;
}

Result<std::string> resolve_secret(const SecretRef& secret, std::string_view what) {
  switch (secret.source) {
    case SecretRef::Source::None:
      return Status("secret_missing", fmt::format("{} is not set", what));
    case SecretRef::Source::Literal:
      return secret.value;
    case SecretRef::Source::Env: {
      const char* value = std::getenv(secret.value.c_str());
      if (value == nullptr || *value == '\0')
        return Status("secret_missing", fmt::format("{} comes from the environment variable {}, "
                                                    "which is not set",
                                                    what, secret.value));
      return std::string(value);
    }
    case SecretRef::Source::File: {
      std::ifstream in(secret.value, std::ios::binary);
      if (!in)
        return Status("secret_missing", fmt::format("{} comes from the file {}, which cannot be "
                                                    "read: {}",
                                                    what, secret.value, std::strerror(errno)));
      std::string text;
      text.resize(kMaxSecretFileBytes + 1);
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxSecretFileBytes)
        return Status("secret_missing", fmt::format("{} file {} is larger than {} bytes", what,
                                                    secret.value, kMaxSecretFileBytes));
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (text.empty())
        return Status("secret_missing", fmt::format("{} file {} is empty", what, secret.value));
      return text;
    }
  }
  return Status("secret_missing", fmt::format("{} is not set", what));
}

}  // namespace flowline
