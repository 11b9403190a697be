// [client-credentials-personal]: a client-credentials token is issued to the
// application itself, so it can never be a person's token; a personal
// credential needs a grant in which the user logs in.
#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {

void check_credential_grants(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const Definition* definition : set.of_kind(Kind::Credential)) {
    const auto& credential = static_cast<const Credential&>(*definition);
    if (credential.type != Credential::Type::OAuth2 ||
        credential.integration_type != Credential::IntegrationType::Personal ||
        credential.oauth_profile.empty())
      continue;
    const auto* profile =
        set.find_as<OAuthProfile>(Kind::OAuthProfile, full_name_of(credential.oauth_profile));
    if (!profile || profile->grant_type != OAuthProfile::GrantType::ClientCredentials) continue;
    auto integration_type = credential.fields.find("integration_type");
    const SourceRange& range = integration_type != credential.fields.end()
                                   ? integration_type->second
                                   : credential.name_range;
    diagnostics.error(
        "client-credentials-personal", range,
        "personal credential '" + short_name_of(credential) + "' uses OAuth profile '" +
            short_name_of(*profile) +
            "' with grant_type client_credentials, whose token belongs to the application, not "
            "a person",
        "use `grant_type: authorization_code` in the profile, or `integration_type: system` here");
  }
}

}  // namespace flowline
