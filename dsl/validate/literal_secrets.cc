// [literal-secret]: a secret written into a definition file ends up in
// version control and in every copy of the set. A warning, not an error: a
// literal is handy against a local test server.
#include <string_view>

#include "dsl/validate/validator.h"

namespace flowline {
namespace {

void check_secret(std::string_view field, const SecretRef& secret, Diagnostics& diagnostics) {
  if (secret.source != SecretRef::Source::Literal) return;
  diagnostics
      .warning("literal-secret", secret.range,
               std::string(field) +
                   " is written literally; use {env: NAME} or {file: PATH} so the secret "
                   "stays out of definition files")
      .secret_range = true;
}

}  // namespace

void check_literal_secrets(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const auto& definition : set.all()) {
    if (definition->kind == Kind::OAuthProfile) {
      check_secret("client_secret", static_cast<const OAuthProfile&>(*definition).client_secret,
                   diagnostics);
    } else if (definition->kind == Kind::Credential) {
      const auto& credential = static_cast<const Credential&>(*definition);
      check_secret("password", credential.password, diagnostics);
      check_secret("value", credential.value, diagnostics);
    }
  }
}

}  // namespace flowline
