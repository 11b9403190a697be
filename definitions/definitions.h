// One type per kind of definition document (DESIGN.md §2), and the
// DefinitionSet that holds everything loaded from a set of files.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/common.h"
#include "definitions/steps.h"

namespace flowline {

enum class Kind { OAuthProfile, ConnectionAlias, HttpConnection, Credential, Action, Subflow, Flow };

std::string_view kind_name(Kind kind);  // "OAuthProfile", …
std::optional<Kind> kind_from_name(std::string_view name);

struct Definition {
  explicit Definition(Kind k) : kind(k) {}
  virtual ~Definition() = default;
  Definition(const Definition&) = delete;
  Definition& operator=(const Definition&) = delete;

  const Kind kind;
  std::string scope = "global";
  std::string name;       // without scope
  std::string full_name;  // scope.name
  SourceRange name_range;
  std::string description;
  SourceRange range;      // the whole document
  FieldRanges fields;     // where each top-level key was written
};

struct OAuthProfile : Definition {
  OAuthProfile() : Definition(Kind::OAuthProfile) {}
  enum class GrantType { AuthorizationCode, ClientCredentials };
  enum class SendCredentials { BasicHeader, RequestBody };
  enum class Pkce { S256, None };

  std::string client_id;
  SecretRef client_secret;
  std::string issuer;  // optional: discovery (RFC 8414)
  std::string authorization_url;
  std::string token_url;
  std::string revocation_url;
  std::string redirect_url;
  GrantType grant_type = GrantType::AuthorizationCode;
  std::vector<std::string> scopes;
  SendCredentials send_credentials = SendCredentials::BasicHeader;
  Pkce pkce = Pkce::S256;
};

struct ConnectionAlias : Definition {
  ConnectionAlias() : Definition(Kind::ConnectionAlias) {}
  enum class Type { ConnectionAndCredential, Credential };
  Type type = Type::ConnectionAndCredential;
  std::optional<RetryPolicy> retry_policy;
};

struct HttpConnection : Definition {
  HttpConnection() : Definition(Kind::HttpConnection) {}
  enum class FollowRedirects { SameOrigin, StripToken, Never };

  Ref alias;
  std::string url;
  Ref credential;  // optional
  std::optional<Duration> timeout;
  std::vector<std::pair<std::string, std::string>> headers;
  bool active = true;
  FollowRedirects follow_redirects = FollowRedirects::SameOrigin;
  std::string ca_file;
};

struct Credential : Definition {
  Credential() : Definition(Kind::Credential) {}
  enum class Type { OAuth2, Basic, ApiKey };
  enum class IntegrationType { Personal, System };

  Type type = Type::OAuth2;
  Ref oauth_profile;  // oauth2
  IntegrationType integration_type = IntegrationType::System;
  std::string username;  // basic
  SecretRef password;    // basic
  std::string header;    // api_key
  SecretRef value;       // api_key
};

struct ErrorEvaluation {
  Template when;
  Template message;
  SourceRange range;
};

struct Action : Definition {
  Action() : Definition(Kind::Action) {}
  std::vector<ParamSpec> inputs;
  std::vector<ParamSpec> outputs;
  StepList steps;
  std::vector<ErrorEvaluation> error_evaluation;
};

enum class RunAs { System, SessionUser };

struct Trigger {
  enum class Type { Manual };
  Type type = Type::Manual;
  SourceRange range;
};

// Subflows and flows share their shape; a flow has a trigger instead of
// declared inputs and outputs.
struct Subflow : Definition {
  Subflow() : Definition(Kind::Subflow) {}
  explicit Subflow(Kind k) : Definition(k) {}
  RunAs run_as = RunAs::System;
  std::vector<ParamSpec> inputs;
  std::vector<ParamSpec> outputs;
  std::vector<ParamSpec> variables;
  StepList steps;
};

struct Flow : Subflow {
  Flow() : Subflow(Kind::Flow) {}
  Trigger trigger;
};

// Everything loaded from one set of files. Owns the definitions and the
// source files they point into. Lookups take a full name ("global.x") or a
// bare one (meaning scope `global`).
class DefinitionSet {
 public:
  DefinitionSet() = default;
  DefinitionSet(const DefinitionSet&) = delete;
  DefinitionSet& operator=(const DefinitionSet&) = delete;
  DefinitionSet(DefinitionSet&&) = default;
  DefinitionSet& operator=(DefinitionSet&&) = default;

  void add(std::unique_ptr<Definition> definition);

  const std::vector<std::unique_ptr<Definition>>& all() const { return definitions_; }
  // The first definition of `kind` with this name, or nullptr.
  const Definition* find(Kind kind, std::string_view name) const;
  template <typename T> const T* find_as(Kind kind, std::string_view name) const {
    return static_cast<const T*>(find(kind, name));
  }
  // Actions, subflows and flows share one namespace: the runnable of that name.
  const Definition* find_runnable(std::string_view name) const;
  // Every definition of `kind`, in load order.
  std::vector<const Definition*> of_kind(Kind kind) const;

  // "acme" -> "global.acme"; "x.acme" stays.
  static std::string qualify(std::string_view name);
  // qualify() without allocating for names of ordinary length: the view
  // lives as long as this object.
  class QualifiedName {
   public:
    std::string_view of(std::string_view name);

   private:
    char buffer_[128];
    std::string spill_;
  };

 private:
  std::vector<std::unique_ptr<Definition>> definitions_;
  // (kind, full name): looked up by string_view too, without building a key.
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      if (a.first != b.first) return a.first < b.first;
      return std::string_view(a.second) < std::string_view(b.second);
    }
  };
  const Definition* lookup(Kind index_kind, std::string_view name) const;
  std::map<std::pair<Kind, std::string>, const Definition*, KeyLess> index_;
};

}  // namespace flowline
