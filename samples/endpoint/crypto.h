// The few cryptographic operations the sample authorization server needs, on libsodium:
// unguessable opaque values, the PKCE S256 transform, digests for storing tokens, constant-time
// comparison of secrets, and the base64 of HTTP Basic.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flowline::sample {

// Initialises libsodium once; safe to call from any thread, any number of times. Returns false
// when the library cannot start (no entropy source), which the endpoint treats as fatal.
bool InitCrypto();

// 32 random bytes as unpadded base64url (43 characters): an opaque token, code or grant id.
std::string RandomOpaqueValue();

// The PKCE S256 transform (RFC 7636 §4.2): BASE64URL(SHA256(ASCII(verifier))), unpadded.
std::string S256Challenge(std::string_view code_verifier);

// SHA-256 of `value` as raw bytes. The stores key tokens and codes by this digest, so a memory
// dump of the server does not hold usable tokens and map lookups do not compare secrets.
std::string Sha256(std::string_view value);

// Compares two secrets in time that does not depend on where they differ.
bool SecretsEqual(std::string_view a, std::string_view b);

// Decodes standard base64 (padding optional); nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);

// Encodes standard base64 with padding (for tests and scripts building Basic credentials).
std::string Base64Encode(std::string_view bytes);

}  // namespace flowline::sample
