#include "support/ast_dump.h"

#include <fmt/format.h>

namespace flowline::test_support {

namespace {

class Dumper {
 public:
  std::string out;

  void line(int depth, const std::string& text) {
    out.append(depth * 2, ' ');
    out += text;
    out += '\n';
  }

  static std::string expr(const Expr& e) {
    std::string args;
    for (const auto& a : e.args) args += " " + expr(*a);
    return fmt::format("({} {} {} {} {}{})", static_cast<int>(e.kind), e.literal.to_json(), e.name,
                       static_cast<int>(e.binary_op) * 100 + static_cast<int>(e.unary_op),
                       static_cast<int>(e.builtin), args);
  }

  static std::string tmpl(const Template& t) {
    std::string parts;
    for (const auto& p : t.parts) parts += p.expr ? expr(*p.expr) : fmt::format("'{}'", p.text);
    return fmt::format("tmpl[{}]<{}>", t.source, parts);
  }

  static std::string value(const ValueTemplate& v) {
    switch (v.kind) {
      case ValueTemplate::Kind::Literal: return v.literal.to_json();
      case ValueTemplate::Kind::Template: return tmpl(v.tmpl);
      case ValueTemplate::Kind::Array: {
        std::string s = "[";
        for (const auto& i : v.items) s += value(i) + ",";
        return s + "]";
      }
      case ValueTemplate::Kind::Object: {
        std::string s = "{";
        for (const auto& f : v.fields) s += f.name + ":" + value(f.value) + ",";
        return s + "}";
      }
    }
    return "?";
  }

  static std::string type(const TypeSpec& t) {
    return std::string(value_type_name(t.type)) + (t.items ? "<" + type(*t.items) + ">" : "");
  }

  static std::string secret(const SecretRef& s) {
    return fmt::format("secret({},{})", static_cast<int>(s.source), s.value);
  }

  static std::string retry(const std::optional<RetryPolicy>& r) {
    if (!r) return "none";
    std::string statuses;
    for (int s : r->on_status) statuses += std::to_string(s) + ",";
    return fmt::format("retry({},{},{},{},{},{},{},[{}])", static_cast<int>(r->strategy),
                       r->interval.count(), r->max_interval ? r->max_interval->count() : -1,
                       r->max_elapsed ? r->max_elapsed->count() : -1, r->count, r->jitter,
                       r->retry_non_idempotent, statuses);
  }

  void params(int depth, const char* what, const std::vector<ParamSpec>& ps) {
    for (const auto& p : ps)
      line(depth, fmt::format("{} {}: {} mandatory={} default={} desc={} value={}", what, p.name,
                              type(p.type), p.mandatory,
                              p.default_value ? p.default_value->to_json() : "none", p.description,
                              p.value ? tmpl(*p.value) : "none"));
  }

  void named(int depth, const char* what, const std::vector<NamedValue>& vs) {
    for (const auto& v : vs) line(depth, fmt::format("{} {} = {}", what, v.name, value(v.value)));
  }

  void steps(int depth, const StepList& list) {
    for (const auto& s : list) step(depth, s);
  }

  void step(int depth, const Step& s) {
    line(depth, fmt::format("step {} id={} on_failure={} desc={}", step_kind_name(s.kind()), s.id,
                            static_cast<int>(s.on_failure), s.description));
    int d = depth + 1;
    if (auto r = s.as<RestStep>()) {
      line(d, fmt::format("connection={} url={} method={} path={} body_type={} timeout={} {}",
                          r->connection.full, r->url ? tmpl(*r->url) : "none",
                          http_method_name(r->method), tmpl(r->path),
                          static_cast<int>(r->body_type), r->timeout ? r->timeout->count() : -1,
                          retry(r->retry_policy)));
      for (const auto& [k, v] : r->query) line(d, "query " + k + " = " + tmpl(v));
      for (const auto& [k, v] : r->headers) line(d, "header " + k + " = " + tmpl(v));
      if (r->body) line(d, "body " + value(*r->body));
      for (int e : r->expect) line(d, "expect " + std::to_string(e));
    } else if (auto sc = s.as<ScriptStep>()) {
      line(d, "code " + sc->code);
      named(d, "input", sc->inputs);
      params(d, "output", sc->outputs);
    } else if (auto l = s.as<LogStep>()) {
      line(d, fmt::format("level={} message={}", static_cast<int>(l->level), tmpl(l->message)));
    } else if (auto j = s.as<JsonParseStep>()) {
      line(d, "source " + tmpl(j->source));
    } else if (auto c = s.as<CallStep>()) {
      line(d, fmt::format("target={} callee={}", static_cast<int>(c->target), c->callee.full));
      named(d, "input", c->inputs);
    } else if (auto i = s.as<IfStep>()) {
      for (const auto& b : i->branches) {
        line(d, "branch " + tmpl(b.condition));
        steps(d + 1, b.steps);
      }
      if (i->else_steps) {
        line(d, "else");
        steps(d + 1, *i->else_steps);
      }
    } else if (auto f = s.as<ForEachStep>()) {
      line(d, fmt::format("items={} as={} max={}", tmpl(f->items), f->as,
                          f->max_iterations.value_or(-1)));
      steps(d + 1, f->body);
    } else if (auto u = s.as<UntilStep>()) {
      line(d, fmt::format("until={} max={}", tmpl(u->condition), u->max_iterations.value_or(-1)));
      steps(d + 1, u->body);
    } else if (auto p = s.as<ParallelStep>()) {
      for (const auto& b : p->branches) {
        line(d, "branch");
        steps(d + 1, b);
      }
    } else if (auto t = s.as<TryStep>()) {
      line(d, "try");
      steps(d + 1, t->body);
      line(d, "catch");
      steps(d + 1, t->handler);
    } else if (auto st = s.as<SetStep>()) {
      named(d, "set", st->assignments);
    } else if (auto a = s.as<AssignOutputsStep>()) {
      named(d, "assign", a->assignments);
    } else if (auto w = s.as<WaitStep>()) {
      line(d, fmt::format("wait {}", w->duration.count()));
    }
  }

  void definition(const Definition& def) {
    line(0, fmt::format("{} {} desc={}", kind_name(def.kind), def.full_name, def.description));
    switch (def.kind) {
      case Kind::OAuthProfile: {
        const auto& p = static_cast<const OAuthProfile&>(def);
        std::string scopes;
        for (const auto& s : p.scopes) scopes += s + ",";
        line(1, fmt::format("{} {} {} {} {} {} {} {} [{}] {} {} {}", p.client_id,
                            secret(p.client_secret), p.issuer, p.authorization_url, p.token_url,
                            p.revocation_url, p.redirect_url, static_cast<int>(p.grant_type), scopes,
                            static_cast<int>(p.send_credentials), static_cast<int>(p.pkce), ""));
        break;
      }
      case Kind::ConnectionAlias: {
        const auto& a = static_cast<const ConnectionAlias&>(def);
        line(1, fmt::format("type={} {}", static_cast<int>(a.type), retry(a.retry_policy)));
        break;
      }
      case Kind::HttpConnection: {
        const auto& c = static_cast<const HttpConnection&>(def);
        line(1, fmt::format("alias={} url={} credential={} timeout={} active={} follow={} ca={}",
                            c.alias.full, c.url, c.credential.full,
                            c.timeout ? c.timeout->count() : -1, c.active,
                            static_cast<int>(c.follow_redirects), c.ca_file));
        for (const auto& [k, v] : c.headers) line(1, "header " + k + " = " + v);
        break;
      }
      case Kind::Credential: {
        const auto& c = static_cast<const Credential&>(def);
        line(1, fmt::format("type={} profile={} integration={} user={} {} header={} {}",
                            static_cast<int>(c.type), c.oauth_profile.full,
                            static_cast<int>(c.integration_type), c.username, secret(c.password),
                            c.header, secret(c.value)));
        break;
      }
      case Kind::Action: {
        const auto& a = static_cast<const Action&>(def);
        params(1, "input", a.inputs);
        params(1, "output", a.outputs);
        steps(1, a.steps);
        for (const auto& e : a.error_evaluation)
          line(1, "error_evaluation " + tmpl(e.when) + " -> " + tmpl(e.message));
        break;
      }
      case Kind::Subflow:
      case Kind::Flow: {
        const auto& s = static_cast<const Subflow&>(def);
        line(1, fmt::format("run_as={}", static_cast<int>(s.run_as)));
        if (def.kind == Kind::Flow)
          line(1, fmt::format("trigger={}", static_cast<int>(static_cast<const Flow&>(def).trigger.type)));
        params(1, "input", s.inputs);
        params(1, "output", s.outputs);
        params(1, "variable", s.variables);
        steps(1, s.steps);
        break;
      }
    }
  }
};

}  // namespace

std::string dump_definitions(const DefinitionSet& set) {
  Dumper d;
  for (const auto& def : set.all()) d.definition(*def);
  return d.out;
}

}  // namespace flowline::test_support
