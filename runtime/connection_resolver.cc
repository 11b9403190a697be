#include "runtime/services.h"

namespace flowline {

ConnectionResolver::ConnectionResolver(const DefinitionSet& set) {
  for (const Definition* d : set.of_kind(Kind::ConnectionAlias)) {
    ResolvedConnection binding;
    binding.alias = static_cast<const ConnectionAlias*>(d);
    by_alias_.emplace(d->full_name, binding);
  }
  // The first active connection of each alias binds it (validation reports a
  // second one as an error).
  for (const Definition* d : set.of_kind(Kind::HttpConnection)) {
    const auto* connection = static_cast<const HttpConnection*>(d);
    if (!connection->active) continue;
    std::string alias = connection->alias.full.empty() ? DefinitionSet::qualify(connection->alias.name)
                                                        : connection->alias.full;
    auto it = by_alias_.find(alias);
    if (it == by_alias_.end() || it->second.connection) continue;
    it->second.connection = connection;
    if (!connection->credential.empty()) {
      const std::string& name = connection->credential.full.empty() ? connection->credential.name
                                                                      : connection->credential.full;
      it->second.credential = set.find_as<Credential>(Kind::Credential, name);
      if (it->second.credential && !it->second.credential->oauth_profile.empty()) {
        const auto& profile = it->second.credential->oauth_profile;
        it->second.profile = set.find_as<OAuthProfile>(
            Kind::OAuthProfile, profile.full.empty() ? profile.name : profile.full);
      }
    }
  }
}

const ResolvedConnection* ConnectionResolver::resolve(std::string_view alias_full_name) const {
  auto it = by_alias_.find(alias_full_name);
  return it == by_alias_.end() ? nullptr : &it->second;
}

const ResolvedConnection* ConnectionResolver::resolve(const Ref& alias) const {
  if (!alias.full.empty()) return resolve(std::string_view(alias.full));
  DefinitionSet::QualifiedName full;
  return resolve(full.of(alias.name));
}

}  // namespace flowline
