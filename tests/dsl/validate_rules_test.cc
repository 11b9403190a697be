// The semantic validation rules of dsl/validate, one group per rule, on
// definition sets built in code with known positions.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "definitions/definitions.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

using Rule = void (*)(const DefinitionSet&, Diagnostics&);

class RulesTest : public ::testing::Test {
 protected:
  // Positions only need a file to name; the text is never read.
  SourceRange at(uint32_t line, uint32_t column = 1) const {
    return SourceRange{file_, {line, column, 0}, {line, column + 1, 0}};
  }

  Ref ref(std::string name, uint32_t line, uint32_t column = 1) const {
    return Ref{name, DefinitionSet::qualify(name), at(line, column)};
  }

  // Adds a definition named `name` ("x" or "scope.x") whose name is written on `line`.
  template <typename T>
  T& add(std::string name, uint32_t line) {
    auto definition = std::make_unique<T>();
    auto dot = name.find('.');
    if (dot != std::string::npos) {
      definition->scope = name.substr(0, dot);
      definition->name = name.substr(dot + 1);
    } else {
      definition->name = name;
    }
    definition->full_name = definition->scope + "." + definition->name;
    definition->name_range = at(line, 7);
    definition->range = at(line - 1);
    T& added = *definition;
    set_.add(std::move(definition));
    return added;
  }

  OAuthProfile& profile(
      std::string name, uint32_t line,
      OAuthProfile::GrantType grant = OAuthProfile::GrantType::AuthorizationCode) {
    auto& profile = add<OAuthProfile>(std::move(name), line);
    profile.grant_type = grant;
    profile.client_secret = {SecretRef::Source::Env, "ACME_SECRET", at(line + 1, 16)};
    return profile;
  }

  ConnectionAlias& alias(std::string name, uint32_t line) {
    return add<ConnectionAlias>(std::move(name), line);
  }

  // The alias is written on line + 1, the credential on line + 2.
  HttpConnection& connection(std::string name, uint32_t line, std::string alias_name,
                             std::string credential_name, bool active = true) {
    auto& connection = add<HttpConnection>(std::move(name), line);
    connection.alias = ref(std::move(alias_name), line + 1, 8);
    if (!credential_name.empty())
      connection.credential = ref(std::move(credential_name), line + 2, 13);
    connection.active = active;
    return connection;
  }

  // The profile is written on line + 2, integration_type on line + 3.
  Credential& oauth_credential(std::string name, uint32_t line, std::string profile_name,
                               Credential::IntegrationType integration) {
    auto& credential = add<Credential>(std::move(name), line);
    credential.type = Credential::Type::OAuth2;
    credential.oauth_profile = ref(std::move(profile_name), line + 2, 16);
    credential.integration_type = integration;
    credential.fields["integration_type"] = at(line + 3);
    return credential;
  }

  Action& action(std::string name, uint32_t line, StepList steps) {
    auto& action = add<Action>(std::move(name), line);
    action.steps = std::move(steps);
    return action;
  }

  // `run_as` is written on line + 1 when given.
  Subflow& subflow(std::string name, uint32_t line, std::optional<RunAs> run_as, StepList steps) {
    auto& subflow = add<Subflow>(std::move(name), line);
    if (run_as) {
      subflow.run_as = *run_as;
      subflow.fields["run_as"] = at(line + 1);
    }
    subflow.steps = std::move(steps);
    return subflow;
  }

  Flow& flow(std::string name, uint32_t line, StepList steps) {
    auto& flow = add<Flow>(std::move(name), line);
    flow.steps = std::move(steps);
    return flow;
  }

  // Steps start with `- ` at column 5; an id, when given, is written there.
  Step step(uint32_t line, std::string id = {}) const {
    Step step;
    step.range = at(line, 5);
    if (!id.empty()) {
      step.id = std::move(id);
      step.id_range = at(line, 11);
    }
    return step;
  }

  // The alias is written on line + 1.
  Step rest(std::string id, uint32_t line, std::string alias_name) const {
    Step s = step(line, std::move(id));
    RestStep rest;
    rest.connection = ref(std::move(alias_name), line + 1, 19);
    s.body = std::move(rest);
    return s;
  }

  Step call(CallStep::Target target, std::string callee, uint32_t line, std::string id = {}) const {
    Step s = step(line, std::move(id));
    CallStep call;
    call.target = target;
    call.callee = ref(std::move(callee), line, 15);
    s.body = std::move(call);
    return s;
  }
  Step call_action(std::string callee, uint32_t line, std::string id = {}) const {
    return call(CallStep::Target::Action, std::move(callee), line, std::move(id));
  }
  Step call_subflow(std::string callee, uint32_t line, std::string id = {}) const {
    return call(CallStep::Target::Subflow, std::move(callee), line, std::move(id));
  }

  template <typename T>
  Step leaf(uint32_t line) const {
    Step s = step(line);
    s.body = T{};
    return s;
  }

  Step for_each(uint32_t line, StepList body) const {
    Step s = step(line);
    ForEachStep loop;
    loop.as = "item";
    loop.body = std::move(body);
    s.body = std::move(loop);
    return s;
  }

  Step until(uint32_t line, StepList body) const {
    Step s = step(line);
    UntilStep loop;
    loop.body = std::move(body);
    s.body = std::move(loop);
    return s;
  }

  Step if_then(uint32_t line, StepList then_steps, std::optional<StepList> else_steps = {}) const {
    Step s = step(line);
    IfStep branch;
    branch.branches.push_back({Template{}, std::move(then_steps), at(line)});
    branch.else_steps = std::move(else_steps);
    s.body = std::move(branch);
    return s;
  }

  Step parallel(uint32_t line, std::vector<StepList> branches) const {
    Step s = step(line);
    s.body = ParallelStep{std::move(branches)};
    return s;
  }

  Step try_catch(uint32_t line, StepList body, StepList handler) const {
    Step s = step(line);
    s.body = TryStep{std::move(body), std::move(handler)};
    return s;
  }

  // The personal-incidents scenario of DESIGN.md §1, clean except for what a
  // test changes: profile, alias, connection, personal credential and an
  // action whose REST step `fetch` uses the alias.
  void add_personal_scenario() {
    profile("acme_oauth", 1);
    alias("acme", 20);
    connection("acme_prod", 30, "acme", "acme_personal");
    oauth_credential("acme_personal", 40, "acme_oauth", Credential::IntegrationType::Personal);
    action("get_my_incidents", 50, {rest("fetch", 52, "acme")});
  }

  // "LINE:COL: severity [code] message" for every diagnostic `rule` reports.
  std::vector<std::string> run(Rule rule) {
    diagnostics_ = Diagnostics();
    rule(set_, diagnostics_);
    std::vector<std::string> lines;
    for (const Diagnostic& d : diagnostics_.items()) {
      EXPECT_EQ(d.range.file, file_) << d.message;
      lines.push_back(
          std::to_string(d.range.begin.line) + ":" + std::to_string(d.range.begin.column) + ": " +
          (d.severity == Severity::Error ? "error" : "warning") + " [" + d.code + "] " + d.message);
    }
    return lines;
  }

  const Diagnostic& only_diagnostic() const {
    EXPECT_EQ(diagnostics_.items().size(), 1u);
    return diagnostics_.items().front();
  }

  std::shared_ptr<const SourceFile> file_ =
      std::make_shared<SourceFile>("defs.yaml", std::string(300, '\n'));
  DefinitionSet set_;
  Diagnostics diagnostics_;
};

using Lines = std::vector<std::string>;

// ---- duplicate-name ---------------------------------------------------------

TEST_F(RulesTest, DuplicateNameIsReportedAtTheSecondDefinition) {
  subflow("x", 2, {}, {});
  subflow("x", 10, {}, {});
  subflow("x", 20, {}, {});
  EXPECT_EQ(run(check_duplicate_names),
            (Lines{"10:7: error [duplicate-name] duplicate Subflow 'global.x' (first defined at "
                   "defs.yaml:2)",
                   "20:7: error [duplicate-name] duplicate Subflow 'global.x' (first defined at "
                   "defs.yaml:2)"}));
}

TEST_F(RulesTest, DuplicateNameSpansActionsSubflowsAndFlows) {
  action("x", 2, {});
  flow("x", 10, {});
  EXPECT_EQ(run(check_duplicate_names),
            (Lines{"10:7: error [duplicate-name] Flow 'global.x' has the same name as Action "
                   "'global.x' (first defined at defs.yaml:2)"}));
  EXPECT_EQ(only_diagnostic().help,
            "actions, subflows and flows share one namespace; rename one of them");
}

TEST_F(RulesTest, SameNameInOtherKindsOrScopesIsNotADuplicate) {
  alias("acme", 2);
  add<Credential>("acme", 10);
  add<HttpConnection>("acme", 20);
  subflow("x", 30, {}, {});
  subflow("hr.x", 40, {}, {});
  EXPECT_EQ(run(check_duplicate_names), Lines{});
}

// ---- dangling-reference -----------------------------------------------------

TEST_F(RulesTest, UnknownAliasSuggestsTheClosestAlias) {
  alias("acme", 2);
  action("a", 10, {rest("fetch", 12, "acmee")});
  EXPECT_EQ(run(check_references),
            (Lines{"13:19: error [dangling-reference] unknown connection alias 'acmee' (did you "
                   "mean 'acme'?)"}));
}

TEST_F(RulesTest, QualifiedReferenceGetsAQualifiedSuggestion) {
  alias("acme", 2);
  action("a", 10, {rest("fetch", 12, "global.acmee")});
  EXPECT_EQ(run(check_references),
            (Lines{"13:19: error [dangling-reference] unknown connection alias 'global.acmee' "
                   "(did you mean 'global.acme'?)"}));
}

TEST_F(RulesTest, UnknownCredentialProfileActionAndSubflow) {
  alias("acme", 2);
  connection("acme_prod", 10, "acme", "nothing_like_it");
  oauth_credential("cred", 20, "prof", Credential::IntegrationType::System);
  subflow("s", 30, {}, {call_action("get", 32), call_subflow("sub", 33)});
  EXPECT_EQ(run(check_references),
            (Lines{"12:13: error [dangling-reference] unknown credential 'nothing_like_it'",
                   "22:16: error [dangling-reference] unknown OAuth profile 'prof'",
                   "32:15: error [dangling-reference] unknown action 'get'",
                   "33:15: error [dangling-reference] unknown subflow 'sub'"}));
}

TEST_F(RulesTest, ReferencesInsideNestedStepsAreChecked) {
  subflow("s", 30, {},
          {for_each(31, {if_then(32, {try_catch(33, {call_action("get", 34)}, {})})})});
  EXPECT_EQ(run(check_references), Lines{"34:15: error [dangling-reference] unknown action 'get'"});
}

TEST_F(RulesTest, CallingAnActionAsASubflowSaysWhichItIs) {
  action("get", 2, {});
  subflow("s", 10, {}, {call_subflow("get", 12)});
  EXPECT_EQ(run(check_references),
            Lines{"12:15: error [dangling-reference] 'get' is an Action, not a Subflow"});
  EXPECT_EQ(only_diagnostic().help, "call an action with `action: get`");
}

TEST_F(RulesTest, CallingASubflowAsAnActionSaysWhichItIs) {
  subflow("child", 2, {}, {});
  subflow("s", 10, {}, {call_action("child", 12)});
  EXPECT_EQ(run(check_references),
            Lines{"12:15: error [dangling-reference] 'child' is a Subflow, not an Action"});
  EXPECT_EQ(only_diagnostic().help, "call a subflow with `subflow: child`");
}

TEST_F(RulesTest, NamingTheConnectionInsteadOfTheAliasPointsAtTheAlias) {
  alias("acme", 2);
  connection("acme_prod", 10, "acme", "");
  action("a", 20, {rest("fetch", 22, "acme_prod")});
  EXPECT_EQ(run(check_references),
            Lines{"23:19: error [dangling-reference] 'acme_prod' is an HttpConnection, not a "
                  "ConnectionAlias"});
  EXPECT_EQ(only_diagnostic().help,
            "a REST step names the connection alias ('acme'), not the HTTP connection");
}

TEST_F(RulesTest, ResolvedReferencesUseTheLoadersFullName) {
  add_personal_scenario();
  alias("hr.acme", 60);
  Step in_scope = rest("fetch", 72, "acme");
  in_scope.as<RestStep>()->connection.full = "hr.acme";
  action("hr.get", 70, {std::move(in_scope)});
  subflow("s", 80, {}, {call_action("get_my_incidents", 82), call_action("hr.get", 83)});
  EXPECT_EQ(run(check_references), Lines{});
}

// ---- alias-without-connection, multiple-active-connections ------------------

TEST_F(RulesTest, AliasWithoutActiveConnection) {
  alias("acme", 2);
  alias("beta", 5);
  connection("beta_old", 10, "beta", "", /*active=*/false);
  EXPECT_EQ(run(check_alias_connections),
            (Lines{"2:7: error [alias-without-connection] connection alias 'acme' has no active "
                   "connection",
                   "5:7: error [alias-without-connection] connection alias 'beta' has no active "
                   "connection"}));
  EXPECT_EQ(diagnostics_.items()[0].help,
            "add an HttpConnection with `alias: acme`, or set `active: true` on one that has it");
}

TEST_F(RulesTest, CredentialOnlyAliasNeedsNoConnection) {
  alias("vault_only", 2).type = ConnectionAlias::Type::Credential;
  EXPECT_EQ(run(check_alias_connections), Lines{});
}

TEST_F(RulesTest, ExtraActiveConnectionsNameTheFirst) {
  alias("acme", 2);
  connection("acme_prod", 10, "acme", "");
  connection("acme_test", 20, "acme", "", /*active=*/false);
  connection("acme_dev", 30, "acme", "");
  connection("acme_qa", 40, "acme", "");
  EXPECT_EQ(run(check_alias_connections),
            (Lines{"31:8: error [multiple-active-connections] alias 'acme' already has an active "
                   "connection 'acme_prod' (defs.yaml:10)",
                   "41:8: error [multiple-active-connections] alias 'acme' already has an active "
                   "connection 'acme_prod' (defs.yaml:10)"}));
  EXPECT_EQ(diagnostics_.items()[0].help,
            "set `active: false` on all but one connection of 'acme'");
}

TEST_F(RulesTest, OneActiveConnectionPerAliasIsClean) {
  alias("acme", 2);
  connection("acme_prod", 10, "acme", "");
  connection("acme_test", 20, "acme", "", /*active=*/false);
  EXPECT_EQ(run(check_alias_connections), Lines{});
}

// ---- missing-step-id, duplicate-step-id -------------------------------------

TEST_F(RulesTest, ActionStepsNeedAnId) {
  Step log = step(13);
  log.body = LogStep{};
  action("a", 10, {rest("", 11, "acme"), std::move(log)});
  EXPECT_EQ(run(check_step_ids), (Lines{"11:5: error [missing-step-id] 'rest' step has no id",
                                        "13:5: error [missing-step-id] 'log' step has no id"}));
  EXPECT_EQ(diagnostics_.items()[0].help,
            "add `id: <name>` so its outputs can be read as `steps.<name>`");
}

TEST_F(RulesTest, FlowLogicMayGoWithoutAnId) {
  subflow("s", 10, {}, {call_action("get", 11), for_each(12, {leaf<ExitLoopStep>(13)})});
  EXPECT_EQ(run(check_step_ids), Lines{});
}

TEST_F(RulesTest, DuplicateStepIdAnywhereInTheTree) {
  subflow("s", 10, {},
          {call_action("get", 11, "get"),
           for_each(12, {parallel(13, {{call_action("get", 14, "other")},
                                       {call_action("get", 15, "get")}})})});
  EXPECT_EQ(
      run(check_step_ids),
      Lines{"15:11: error [duplicate-step-id] duplicate step id 'get' (first used on line 11)"});
}

TEST_F(RulesTest, StepIdsAreScopedToTheirDefinition) {
  action("a", 10, {rest("fetch", 11, "acme")});
  action("b", 20, {rest("fetch", 21, "acme")});
  EXPECT_EQ(run(check_step_ids), Lines{});
}

// ---- loop-control-outside-loop ----------------------------------------------

TEST_F(RulesTest, LoopControlOutsideALoop) {
  subflow("s", 10, {},
          {leaf<ExitLoopStep>(11), if_then(12, {}, StepList{leaf<SkipIterationStep>(13)})});
  EXPECT_EQ(run(check_loop_control),
            (Lines{"11:5: error [loop-control-outside-loop] 'exit_loop' is only allowed inside "
                   "'for_each' or 'until'",
                   "13:5: error [loop-control-outside-loop] 'skip_iteration' is only allowed "
                   "inside 'for_each' or 'until'"}));
}

TEST_F(RulesTest, LoopControlDeepInsideALoop) {
  subflow(
      "s", 10, {},
      {for_each(11, {leaf<ExitLoopStep>(12)}),
       until(13,
             {parallel(14,
                       {{}, {try_catch(15, {}, {if_then(16, {leaf<SkipIterationStep>(17)})})}})})});
  EXPECT_EQ(run(check_loop_control), Lines{});
}

TEST_F(RulesTest, ALoopInTheCallerDoesNotCoverTheCalledSubflow) {
  subflow("outer", 10, {}, {for_each(11, {call_subflow("inner", 12)})});
  subflow("inner", 20, {}, {leaf<ExitLoopStep>(21)});
  EXPECT_EQ(run(check_loop_control),
            Lines{"21:5: error [loop-control-outside-loop] 'exit_loop' is only allowed inside "
                  "'for_each' or 'until'"});
}

// ---- call-cycle -------------------------------------------------------------

TEST_F(RulesTest, CycleOfTwoSubflowsIsReportedOnceWhereItCloses) {
  subflow("a", 10, {}, {call_subflow("b", 11)});
  subflow("b", 20, {}, {call_subflow("a", 21), if_then(22, {call_subflow("a", 23)})});
  EXPECT_EQ(run(check_call_cycles),
            Lines{"21:15: error [call-cycle] subflow call cycle: global.a → global.b → global.a"});
}

TEST_F(RulesTest, SubflowCallingItself) {
  flow("f", 2, {call_subflow("a", 3)});
  subflow("a", 10, {}, {for_each(11, {call_subflow("a", 12)})});
  EXPECT_EQ(run(check_call_cycles),
            Lines{"12:15: error [call-cycle] subflow call cycle: global.a → global.a"});
}

TEST_F(RulesTest, TwoDistinctCyclesAreBothReported) {
  subflow("a", 10, {}, {call_subflow("b", 11), call_subflow("c", 12)});
  subflow("b", 20, {}, {call_subflow("a", 21)});
  subflow("c", 30, {}, {call_subflow("a", 31)});
  EXPECT_EQ(
      run(check_call_cycles),
      (Lines{"21:15: error [call-cycle] subflow call cycle: global.a → global.b → global.a",
             "31:15: error [call-cycle] subflow call cycle: global.a → global.c → global.a"}));
}

TEST_F(RulesTest, SharedCalleesWithoutACycleAreClean) {
  subflow("a", 10, {}, {call_subflow("b", 11), call_subflow("c", 12)});
  subflow("b", 20, {}, {call_subflow("d", 21)});
  subflow("c", 30, {}, {call_subflow("d", 31)});
  subflow("d", 40, {}, {call_action("get", 41)});
  action("get", 50, {});
  EXPECT_EQ(run(check_call_cycles), Lines{});
}

// ---- personal-credential-in-system-context ---------------------------------

TEST_F(RulesTest, SystemSubflowReachingAPersonalCredential) {
  add_personal_scenario();
  subflow("x", 60, RunAs::System, {call_action("get_my_incidents", 62, "get")});
  EXPECT_EQ(run(check_run_as_personal),
            Lines{"61:1: error [personal-credential-in-system-context] subflow 'global.x' runs as "
                  "system but reaches personal credential 'global.acme_personal' through global.x "
                  "→ action global.get_my_incidents → step 'fetch' (alias 'acme')"});
  EXPECT_EQ(only_diagnostic().help,
            "set `run_as: session_user` on 'global.x' so the REST step uses the session user's "
            "own token");
}

TEST_F(RulesTest, SystemIsTheDefaultAndIsReportedAtTheName) {
  add_personal_scenario();
  subflow("x", 60, std::nullopt, {call_action("get_my_incidents", 62)});
  EXPECT_EQ(run(check_run_as_personal),
            Lines{"60:7: error [personal-credential-in-system-context] subflow 'global.x' runs as "
                  "system but reaches personal credential 'global.acme_personal' through global.x "
                  "→ action global.get_my_incidents → step 'fetch' (alias 'acme')"});
}

TEST_F(RulesTest, SessionUserSubflowMayUseAPersonalCredential) {
  add_personal_scenario();
  subflow("x", 60, RunAs::SessionUser, {call_action("get_my_incidents", 62)});
  EXPECT_EQ(run(check_run_as_personal), Lines{});
}

// Children do not inherit run_as (DESIGN.md §4): a session_user subflow runs
// as the session user even when a system flow calls it.
TEST_F(RulesTest, SessionUserChildOfASystemFlowRunsAsTheSessionUser) {
  add_personal_scenario();
  flow("f", 60, {if_then(61, {call_subflow("child", 62)})});
  subflow("child", 70, RunAs::SessionUser, {call_action("get_my_incidents", 72)});
  EXPECT_EQ(run(check_run_as_personal), Lines{});
}

TEST_F(RulesTest, EachSystemSubflowIsReportedOncePerCredentialEvenThroughACycle) {
  add_personal_scenario();
  action("get_again", 56, {rest("again", 57, "acme")});
  subflow("a", 60, RunAs::System, {call_subflow("b", 62), call_action("get_again", 63)});
  subflow("b", 70, RunAs::SessionUser,
          {call_subflow("a", 72), call_action("get_my_incidents", 73)});
  EXPECT_EQ(run(check_run_as_personal),
            Lines{"61:1: error [personal-credential-in-system-context] subflow 'global.a' runs as "
                  "system but reaches personal credential 'global.acme_personal' through global.a "
                  "→ action global.get_again → step 'again' (alias 'acme')"});
}

TEST_F(RulesTest, SystemCredentialsInactiveConnectionsAndActionsAloneAreFine) {
  profile("acme_oauth", 1);
  alias("acme", 20);
  connection("acme_prod", 30, "acme", "acme_system");
  connection("acme_old", 33, "acme", "acme_personal", /*active=*/false);
  oauth_credential("acme_system", 40, "acme_oauth", Credential::IntegrationType::System);
  oauth_credential("acme_personal", 45, "acme_oauth", Credential::IntegrationType::Personal);
  action("get_my_incidents", 50, {rest("fetch", 52, "acme")});
  subflow("x", 60, RunAs::System, {call_action("get_my_incidents", 62)});
  EXPECT_EQ(run(check_run_as_personal), Lines{});
}

TEST_F(RulesTest, AnActionRunDirectlyRunsAsTheSessionUser) {
  add_personal_scenario();
  EXPECT_EQ(run(check_run_as_personal), Lines{});
}

// ---- client-credentials-personal --------------------------------------------

TEST_F(RulesTest, PersonalCredentialWithAClientCredentialsProfile) {
  profile("app_oauth", 1, OAuthProfile::GrantType::ClientCredentials);
  oauth_credential("mine", 10, "app_oauth", Credential::IntegrationType::Personal);
  EXPECT_EQ(run(check_credential_grants),
            Lines{"13:1: error [client-credentials-personal] personal credential 'mine' uses "
                  "OAuth profile 'app_oauth' with grant_type client_credentials, whose token "
                  "belongs to the application, not a person"});
  EXPECT_EQ(only_diagnostic().help,
            "use `grant_type: authorization_code` in the profile, or `integration_type: system` "
            "here");
}

TEST_F(RulesTest, ClientCredentialsForSystemAndAuthorizationCodeForPersonalAreFine) {
  profile("app_oauth", 1, OAuthProfile::GrantType::ClientCredentials);
  profile("user_oauth", 5);
  oauth_credential("shared", 10, "app_oauth", Credential::IntegrationType::System);
  oauth_credential("mine", 20, "user_oauth", Credential::IntegrationType::Personal);
  EXPECT_EQ(run(check_credential_grants), Lines{});
}

// ---- literal-secret ---------------------------------------------------------

TEST_F(RulesTest, LiteralSecretsAreWarnedAbout) {
  auto& oauth = profile("acme_oauth", 1);
  oauth.client_secret = {SecretRef::Source::Literal, "s3cret", at(4, 16)};
  auto& basic = add<Credential>("basic", 10);
  basic.type = Credential::Type::Basic;
  basic.password = {SecretRef::Source::Literal, "hunter2", at(13, 11)};
  auto& key = add<Credential>("key", 20);
  key.type = Credential::Type::ApiKey;
  key.value = {SecretRef::Source::Literal, "abc", at(23, 8)};
  EXPECT_EQ(run(check_literal_secrets),
            (Lines{"4:16: warning [literal-secret] client_secret is written literally; use {env: "
                   "NAME} or {file: PATH} so the secret stays out of definition files",
                   "13:11: warning [literal-secret] password is written literally; use {env: "
                   "NAME} or {file: PATH} so the secret stays out of definition files",
                   "23:8: warning [literal-secret] value is written literally; use {env: NAME} "
                   "or {file: PATH} so the secret stays out of definition files"}));
}

TEST_F(RulesTest, SecretsFromTheEnvironmentOrAFileAreFine) {
  profile("acme_oauth", 1);
  auto& basic = add<Credential>("basic", 10);
  basic.type = Credential::Type::Basic;
  basic.password = {SecretRef::Source::File, "/run/secrets/pw", at(13, 11)};
  EXPECT_EQ(run(check_literal_secrets), Lines{});
}

// ---- unused-definition ------------------------------------------------------

TEST_F(RulesTest, UnusedDefinitionsAreWarnedAboutOnceThereIsAnEntryPoint) {
  add_personal_scenario();
  profile("spare_oauth", 100);
  oauth_credential("spare_cred", 110, "acme_oauth", Credential::IntegrationType::System);
  alias("spare_alias", 120);
  connection("spare_conn", 125, "spare_alias", "");
  action("spare_action", 130, {});
  subflow("x", 60, RunAs::SessionUser, {call_action("get_my_incidents", 62)});
  flow("never_called", 140, {});
  EXPECT_EQ(run(check_unused_definitions),
            (Lines{"100:7: warning [unused-definition] OAuth profile 'spare_oauth' is not used by "
                   "any credential",
                   "110:7: warning [unused-definition] credential 'spare_cred' is not used by any "
                   "connection",
                   "120:7: warning [unused-definition] connection alias 'spare_alias' is not used "
                   "by any REST step",
                   "130:7: warning [unused-definition] action 'spare_action' is not called by any "
                   "subflow or flow"}));
}

TEST_F(RulesTest, AnActionLibraryDrawsNoUnusedWarnings) {
  add_personal_scenario();
  profile("spare_oauth", 100);
  action("spare_action", 130, {});
  EXPECT_EQ(run(check_unused_definitions), Lines{});
}

}  // namespace
}  // namespace flowline
