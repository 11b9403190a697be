#!/usr/bin/env python3
"""Writes a generated Flowline definition set for the validation benchmark.

The set is modelled on samples/personal-incidents and scaled up: services with
an OAuth profile (or a basic / API-key credential), a connection alias, one or
two HTTP connections and a credential; many actions with rest, script, log and
json_parse steps; subflows that call actions and earlier subflows with
for_each, if/elif/else, try/catch, parallel, until, set and assign_outputs;
and a few flows. Everything cross-references everything else the way a real
set does, and the whole set is valid: `flowline validate DIR` reports no error
and no warning.

One definition per file, because common schema validators read one YAML
document per file. Output is deterministic for a given seed and count.

    python3 bench/gen_definitions.py OUT_DIR [--files 1000] [--seed 1]
"""

import argparse
import os
import random
import re
import sys

# ---- A small YAML writer -------------------------------------------------------
# Block style by default; Flow(...) for the short inline maps and lists people
# write by hand; Block(text) for literal block scalars (script code).


class Flow:
    def __init__(self, value):
        self.value = value


class Block:
    def __init__(self, text):
        self.text = text


_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_ ./()'^=<>-]*$")
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if _DURATION.match(text):
        return text
    plain = (
        _PLAIN.match(text)
        and text.lower() not in _RESERVED
        and not text.endswith(" ")
        and " #" not in text
    )
    if plain:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flow(value):
    if isinstance(value, Flow):
        value = value.value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def emit(value, indent, out):
    """Writes `value` (a dict or list) in block style at `indent` spaces."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, Flow):
                out.append(f"{pad}{key}: {flow(item)}")
            elif isinstance(item, Block):
                out.append(f"{pad}{key}: |")
                for line in item.text.rstrip("\n").split("\n"):
                    out.append(f"{pad}  {line}" if line else "")
            elif isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{key}:")
                emit(item, indent + 2 if isinstance(item, dict) else indent + 2, out)
            else:
                out.append(f"{pad}{key}: {flow(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item and not isinstance(item, Flow):
                sub = []
                emit(item, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2 :]
                out.extend(sub)
            elif isinstance(item, list) and item:
                sub = []
                emit(item, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2 :]
                out.extend(sub)
            else:
                out.append(f"{pad}- {flow(item)}")


def document(comment, body):
    lines = [f"# {line}" if line else "#" for line in comment]
    emit(body, 0, lines)
    return "\n".join(lines) + "\n"


# ---- Vocabulary ----------------------------------------------------------------

COMPANIES = [
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
    "cyberdyne", "soylent", "vandelay", "oceanic", "gringotts", "monarch", "aperture",
    "blackmesa", "dunder", "pied", "massive", "nakatomi", "oscorp", "prestige", "sirius",
    "virtucon", "weyland", "yoyodyne", "zorg", "bluth", "krusty", "duff", "ollivander",
    "nimbus", "quark", "rekall", "sterling", "tessier", "abstergo", "octan", "planet",
]
SCOPES = ["global", "itsm", "hr", "crm", "finance", "facilities", "security"]
RESOURCES = {
    "itsm": ["incident", "change_request", "problem", "task", "sc_request", "cmdb_ci"],
    "hr": ["hr_case", "employee", "onboarding_task", "leave_request", "position"],
    "crm": ["account", "contact", "opportunity", "lead", "quote"],
    "finance": ["invoice", "purchase_order", "expense", "budget_line", "payment"],
    "facilities": ["work_order", "asset", "location", "reservation", "inspection"],
    "security": ["vulnerability", "security_incident", "access_request", "certificate"],
    "global": ["ticket", "record", "comment", "attachment", "approval", "notification"],
}
FIELDS = ["priority", "state", "assigned_to", "short_description", "category", "impact",
          "urgency", "opened_by", "due_date", "assignment_group", "location", "cost_center"]
FIELD_DEFAULTS = {
    "priority": "3", "state": "in_progress", "assigned_to": "", "short_description": "Updated",
    "category": "inquiry", "impact": "3", "urgency": "3", "opened_by": "", "due_date": "",
    "assignment_group": "service_desk", "location": "", "cost_center": "",
}
VERBS = ["list", "list", "get", "create", "update", "close", "search", "count"]
HEADER_NAMES = ["X-Client", "X-Request-Source", "X-Tenant", "X-Api-Version", "User-Agent"]


def ref(definition, from_scope):
    """How a reference to `definition` is written: bare in the global scope."""
    if definition["scope"] == "global":
        return definition["name"]
    return f"{definition['scope']}.{definition['name']}"


# ---- The model -----------------------------------------------------------------


class Generator:
    def __init__(self, files, seed):
        self.rng = random.Random(seed)
        self.files = files
        self.out = {}  # file name -> text
        self.used_names = set()
        self.services = []
        self.actions = []
        self.subflows = []
        self.flows = []

    def unique(self, scope, base):
        name = base
        n = 2
        while (scope, name) in self.used_names:
            name = f"{base}_{n}"
            n += 1
        self.used_names.add((scope, name))
        return name

    def add_file(self, stem, comment, body):
        name = f"{stem}.yaml"
        assert name not in self.out, name
        self.out[name] = document(comment, body)

    # -- Plan: how many of each -------------------------------------------------
    def plan(self):
        n = self.files
        services = max(1, round(n * 0.06))
        # A service writes 4 files (3 without OAuth, 1 more with a standby connection).
        service_files = 0
        kinds = []
        for i in range(services):
            kind = ["personal", "personal", "personal", "system_oauth", "basic", "api_key"][i % 6]
            standby = i % 3 == 0
            kinds.append((kind, standby))
            service_files += (4 if kind in ("personal", "system_oauth") else 3) + (1 if standby else 0)
        rest = max(3, n - service_files)
        flows = max(1, round(rest * 0.05))
        subflows = max(1, round(rest * 0.25))
        actions = max(1, rest - flows - subflows)
        return kinds, actions, subflows, flows

    def generate(self):
        kinds, actions, subflows, flows = self.plan()
        for i, (kind, standby) in enumerate(kinds):
            self.service(i, kind, standby)
        for i in range(actions):
            self.action(i)
        for i in range(subflows):
            self.subflow(i, subflows)
        for i in range(flows):
            self.flow(i)
        self.write_actions_and_subflows()
        return self.out

    # -- Services: profile, alias, connections, credential ----------------------
    def service(self, i, kind, standby):
        rng = self.rng
        company = COMPANIES[i % len(COMPANIES)]
        if i >= len(COMPANIES):
            company = f"{company}{i // len(COMPANIES) + 1}"
        scope = SCOPES[i % len(SCOPES)]
        host = f"{company}.example"
        svc = {"company": company, "scope": scope, "kind": kind, "host": host}

        alias = {"scope": scope, "name": self.unique(scope, company)}
        cred = {"scope": scope, "name": self.unique(scope, f"{company}_{'personal' if kind == 'personal' else kind if kind != 'system_oauth' else 'system'}")}
        conn = {"scope": scope, "name": self.unique(scope, f"{company}_prod")}
        svc.update(alias=alias, credential=cred)
        stem = f"{scope}_{company}"

        if kind in ("personal", "system_oauth"):
            profile = {"scope": scope, "name": self.unique(scope, f"{company}_oauth")}
            client_credentials = kind == "system_oauth" and i % 2 == 1
            body = {
                "kind": "OAuthProfile",
                "name": ref(profile, scope),
                "description": f"The {company.title()} authorization server",
                "client_id": f"flowline-{company}-{rng.randint(1000, 9999)}",
                "client_secret": Flow({"env": f"{company.upper()}_CLIENT_SECRET"}),
            }
            if not client_credentials:
                body["authorization_url"] = f"https://auth.{host}/oauth2/authorize"
            body["token_url"] = f"https://auth.{host}/oauth2/token"
            body["revocation_url"] = f"https://auth.{host}/oauth2/revoke"
            if not client_credentials:
                body["redirect_url"] = rng.choice(
                    ["http://127.0.0.1/callback", "http://localhost/oauth/callback",
                     f"https://flowline.{host}/oauth/callback"])
            body["grant_type"] = "client_credentials" if client_credentials else "authorization_code"
            scopes = ["openid", "offline_access"] if not client_credentials else []
            scopes += [f"{r}.read" for r in rng.sample(RESOURCES[scope], 2)]
            scopes.append(f"{RESOURCES[scope][0]}.write")
            body["scopes"] = Flow(scopes) if rng.random() < 0.7 else " ".join(scopes)
            body["send_credentials"] = rng.choice(["basic_header", "request_body"])
            if not client_credentials:
                body["pkce"] = "S256"
            self.add_file(f"{stem}_oauth_profile",
                          [f"The OAuth application registry of {company.title()}."], body)

            cbody = {
                "kind": "Credential",
                "name": ref(cred, scope),
                "description": ("Each user's own token" if kind == "personal"
                                else "One shared token for the integration"),
                "type": "oauth2",
                "oauth_profile": ref(profile, scope),
                "integration_type": "personal" if kind == "personal" else "system",
            }
        elif kind == "basic":
            cbody = {
                "kind": "Credential",
                "name": ref(cred, scope),
                "description": f"The integration account at {company.title()}",
                "type": "basic",
                "username": f"svc_flowline_{company}",
                "password": Flow({"env": f"{company.upper()}_PASSWORD"}),
            }
        else:
            cbody = {
                "kind": "Credential",
                "name": ref(cred, scope),
                "description": f"The API key issued by {company.title()}",
                "type": "api_key",
                "header": "X-Api-Key",
                "value": Flow({"file": f"/etc/flowline/secrets/{company}.key"}),
            }
        self.add_file(f"{stem}_credential",
                      [f"How requests to {company.title()} are authorized."], cbody)

        abody = {
            "kind": "ConnectionAlias",
            "name": ref(alias, scope),
            "description": f"The {company.title()} {scope if scope != 'global' else 'records'} service",
            "type": "connection_and_credential",
        }
        if rng.random() < 0.8:
            abody["retry_policy"] = Flow({
                "strategy": rng.choice(["exponential", "fixed", "retry_after"]),
                "interval": rng.choice(["250ms", "500ms", "1s", "2s"]),
                "count": rng.randint(1, 5),
                "max_elapsed": rng.choice(["10s", "30s", "1m"]),
                "on_status": [429, 502, 503, 504],
            })
        self.add_file(f"{stem}_alias", [f"The name REST steps use for {company.title()}."], abody)

        def connection(name, url, active, comment):
            body = {
                "kind": "HttpConnection",
                "name": ref(name, scope),
                "description": comment,
                "alias": ref(alias, scope),
                "url": url,
                "credential": ref(cred, scope),
                "timeout": rng.choice(["5s", "10s", "15s", "30s"]),
                "headers": Flow({h: f"flowline-{company}" if h != "X-Api-Version" else "2"
                                 for h in rng.sample(HEADER_NAMES, rng.randint(1, 3))}),
            }
            if not active:
                body["active"] = False
            if rng.random() < 0.3:
                body["follow_redirects"] = rng.choice(["same_origin", "strip_token", "never"])
            return body

        self.add_file(f"{stem}_connection_prod", [f"Production endpoint of {company.title()}."],
                      connection(conn, f"https://api.{host}", True,
                                 f"{company.title()} production"))
        if standby:
            staging = {"scope": scope, "name": self.unique(scope, f"{company}_staging")}
            self.add_file(f"{stem}_connection_staging",
                          [f"Staging endpoint of {company.title()}; switch `active` to use it."],
                          connection(staging, f"https://staging.api.{host}", False,
                                     f"{company.title()} staging (inactive)"))
        self.services.append(svc)

    # -- Actions ------------------------------------------------------------------
    def action(self, i):
        rng = self.rng
        svc = self.services[i % len(self.services)]
        scope = svc["scope"]
        resource = rng.choice(RESOURCES[scope])
        verb = VERBS[(i // len(self.services)) % len(VERBS)]
        name = {"scope": scope, "name": self.unique(scope, f"{verb}_{svc['company']}_{resource}")}
        table = f"/api/now/table/{resource}"

        inputs, outputs, steps = {}, {}, []
        errors = []
        fetch = {"id": "fetch"}
        rest = {"connection": ref(svc["alias"], scope)}
        if verb in ("list", "search", "count"):
            inputs["limit"] = Flow({"type": "integer", "default": rng.choice([10, 25, 50, 100]),
                                   "description": f"How many {resource} records to return"})
            inputs["query"] = Flow({"type": "string", "default": "active=true"})
            if verb == "search":
                inputs["text"] = Flow({"type": "string", "mandatory": True})
            rest.update(method="GET", path=table)
            query = {"sysparm_limit": "{{ inputs.limit }}",
                     "sysparm_query": "{{ inputs.query }}^assigned_to={{ session.user }}"}
            if verb == "search":
                query["sysparm_text"] = "{{ url_encode(trim(inputs.text)) }}"
            if rng.random() < 0.3:
                query["sysparm_fields"] = ",".join(rng.sample(FIELDS, 4))
            rest["query"] = Flow(query)
            outputs["records"] = Flow({"type": "array", "value": "{{ steps.fetch.body.result }}"})
            outputs["count"] = Flow({"type": "integer",
                                     "value": "{{ length(steps.fetch.body.result) }}"})
        elif verb == "get":
            inputs["record_id"] = Flow({"type": "string", "mandatory": True,
                                        "description": f"The sys_id of the {resource}"})
            rest.update(method="GET", path=f"{table}/{{{{ inputs.record_id }}}}")
            outputs["record"] = Flow({"type": "object", "value": "{{ steps.fetch.body.result }}"})
            outputs["found"] = Flow({"type": "boolean",
                                     "value": "{{ steps.fetch.status_code == 200 }}"})
        elif verb == "create":
            inputs["short_description"] = Flow({"type": "string", "mandatory": True})
            inputs["fields"] = Flow({"type": "object", "default": {}})
            rest.update(method="POST", path=table,
                        body={"short_description": "{{ inputs.short_description }}",
                              "opened_by": "{{ session.user }}",
                              "u_fields": "{{ inputs.fields }}",
                              "correlation_id": "{{ run.id }}"},
                        body_type="json", expect=Flow([200, 201]))
            outputs["sys_id"] = Flow({"type": "string",
                                      "value": "{{ steps.fetch.body.result.sys_id }}"})
            outputs["record"] = Flow({"type": "object", "value": "{{ steps.fetch.body.result }}"})
        else:  # update, close
            inputs["record_id"] = Flow({"type": "string", "mandatory": True})
            field = rng.choice(FIELDS)
            inputs[field] = Flow({"type": "string", "default": FIELD_DEFAULTS[field]})
            body = {field: f"{{{{ inputs.{field} }}}}", "work_notes": "Updated by {{ session.user }}"}
            if verb == "close":
                body["state"] = 7
                body["close_code"] = "Solved (Permanently)"
            rest.update(method=rng.choice(["PATCH", "PUT"]),
                        path=f"{table}/{{{{ inputs.record_id }}}}", body=body)
            outputs["record"] = Flow({"type": "object", "value": "{{ steps.fetch.body.result }}"})
            outputs["status"] = Flow({"type": "integer", "value": "{{ steps.fetch.status_code }}"})
        headers = {"Accept": "application/json"}
        if rng.random() < 0.4:
            headers["X-Correlation-Id"] = "{{ run.id }}"
        rest["headers"] = Flow(headers)
        if rng.random() < 0.3:
            rest["timeout"] = rng.choice(["5s", "20s", "45s"])
        if rng.random() < 0.2:
            rest["retry_policy"] = Flow({"strategy": "fixed", "interval": "500ms", "count": 2})
        fetch["rest"] = rest
        fetch["on_failure"] = rng.choice(["stop", "stop", "continue"])
        steps.append(fetch)

        # A script that reshapes the response, for the list-like verbs.
        if verb in ("list", "search") and rng.random() < 0.4:
            steps.append({
                "id": "summarize",
                "script": {
                    "inputs": Flow({"records": "{{ steps.fetch.body.result }}",
                                    "user": "{{ session.user }}"}),
                    "outputs": Flow({"numbers": Flow({"type": "array", "items": "string"}),
                                     "urgent": "integer"}),
                    "code": Block(
                        "(function execute(inputs, outputs) {\n"
                        "  var numbers = [];\n"
                        "  var urgent = 0;\n"
                        "  for (var i = 0; i < inputs.records.length; i++) {\n"
                        "    var r = inputs.records[i];\n"
                        "    numbers.push(r.number);\n"
                        f"    if (r.{rng.choice(['priority', 'urgency', 'impact'])} <= 2) urgent++;\n"
                        "  }\n"
                        "  outputs.numbers = numbers;\n"
                        "  outputs.urgent = urgent;\n"
                        f"  gs.info('{resource} for ' + inputs.user + ': ' + numbers.length);\n"
                        "})(inputs, outputs);\n"),
                },
            })
            outputs["numbers"] = Flow({"type": "array", "items": "string",
                                       "value": "{{ steps.summarize.numbers }}"})
            outputs["urgent"] = Flow({"type": "integer", "value": "{{ steps.summarize.urgent }}"})
        if rng.random() < 0.15:
            steps.append({"id": "raw", "json_parse": Flow({
                "source": "{{ default(steps.fetch.headers['x-flowline-meta'], '{}') }}"})})
            outputs["meta"] = Flow({"type": "object", "value": "{{ steps.raw.value }}"})
        if rng.random() < 0.4:
            steps.append({"id": "audit", "log": Flow({
                "level": rng.choice(["info", "info", "warn"]),
                "message": f"{verb} {resource}: HTTP {{{{ steps.fetch.status_code }}}} in "
                           f"{{{{ steps.fetch.duration_ms }}}} ms after "
                           f"{{{{ steps.fetch.attempts }}}} attempt(s)"})})

        errors.append({"when": "{{ steps.fetch.status_code == 401 }}",
                       "message": f"Not authorized at {svc['company'].title()}: "
                                  "{{ steps.fetch.status.message }}"})
        if rng.random() < 0.2:
            errors.append({"when": "{{ steps.fetch.status_code >= 500 }}",
                           "message": f"{svc['company'].title()} is unavailable "
                                      "({{ steps.fetch.status_code }})"})

        self.actions.append({
            "scope": scope, "name": name["name"], "service": svc, "verb": verb,
            "resource": resource,
            "inputs": {k: v.value for k, v in inputs.items()},
            "outputs": {k: v.value["type"] for k, v in outputs.items()},
            "personal": svc["kind"] == "personal",
            "called": False,
            "body": {
                "kind": "Action",
                "name": ref(name, scope),
                "description": f"{verb.title()} {resource.replace('_', ' ')} records at "
                               f"{svc['company'].title()}",
                "inputs": inputs,
                "outputs": outputs,
                "steps": steps,
                "error_evaluation": errors,
            },
        })

    # -- Calls --------------------------------------------------------------------
    def call_inputs(self, callee, value_for):
        """Inputs for a call: every mandatory one, and some of the others."""
        given = {}
        for key, spec in callee["inputs"].items():
            if spec.get("mandatory") or self.rng.random() < 0.4:
                given[key] = value_for(key, spec)
        return given

    # -- Subflows and flows ---------------------------------------------------------
    def pick_actions(self, count):
        """Actions for a runnable to call, uncalled ones first so every action is used."""
        uncalled = [a for a in self.actions if not a["called"]]
        picked = uncalled[:count]
        while len(picked) < count:
            a = self.rng.choice(self.actions)
            if a not in picked:
                picked.append(a)
        for a in picked:
            a["called"] = True
        return picked

    def subflow(self, i, total):
        rng = self.rng
        scope = rng.choice(SCOPES)
        # Spread the uncalled actions over the subflows so that each subflow
        # calls a few and the last ones still find some.
        remaining_actions = sum(1 for a in self.actions if not a["called"])
        remaining_subflows = total - i
        share = -(-remaining_actions // remaining_subflows)
        actions = self.pick_actions(max(2, min(6, share + rng.randint(0, 1))))
        callees = rng.sample(self.subflows, min(len(self.subflows), rng.randint(0, 2))) if i > 3 else []
        lister = next((a for a in actions if "records" in a["outputs"]), actions[0])
        topic = lister["resource"]
        name = {"scope": scope, "name": self.unique(scope, f"handle_{topic}_{i}")}
        body, reaches_personal = self.runnable_body(
            "Subflow", name, scope, actions, callees, with_inputs=True)
        self.subflows.append({
            "scope": scope, "name": name["name"], "inputs": SUBFLOW_INPUTS,
            "outputs": {"total": "integer", "records": "array", "ok": "boolean"},
            "reaches_personal": reaches_personal, "body": body,
        })

    def flow(self, i):
        rng = self.rng
        scope = rng.choice(SCOPES)
        callees = rng.sample(self.subflows, min(len(self.subflows), rng.randint(1, 3)))
        actions = self.pick_actions(rng.randint(1, 2))
        name = {"scope": scope, "name": self.unique(scope, f"nightly_{actions[0]['resource']}_{i}")}
        body, _ = self.runnable_body("Flow", name, scope, actions, callees, with_inputs=False)
        self.add_file(f"{scope}_{name['name']}", [
            f"A flow started by hand: {len(callees)} subflow(s) and {len(actions)} action(s)."],
            body)

    def runnable_body(self, kind, name, scope, actions, callees, with_inputs):
        rng = self.rng
        ids = iter(f"s{n}" for n in range(1, 1000))
        lister = next((a for a in actions if "records" in a["outputs"]), None)

        def value_for(key, spec):
            t = spec.get("type")
            if key == "limit":
                return "{{ inputs.limit }}" if with_inputs else rng.choice([5, 20, 50])
            if key == "record_id":
                return "{{ inputs.record_id }}" if with_inputs else "{{ vars.cursor }}"
            if key == "fields":
                return Flow({"category": "{{ vars.summary }}", "origin": "flowline"})
            if key == "query":
                return "active=true^priority<={{ vars.processed + 2 }}"
            if t == "integer":
                return "{{ vars.processed }}"
            return f"{key.replace('_', ' ').title()} from {{{{ session.user }}}}"

        def call(callee, is_action, step_id=None):
            step = {"id": step_id or next(ids)}
            step["action" if is_action else "subflow"] = ref(callee, scope)
            given = self.call_inputs(callee, value_for)
            if given:
                step["inputs"] = Flow(given)
            return step

        steps = []
        first = None
        if lister:
            first = call(lister, True)
            steps.append(first)
            records = f"{{{{ steps.{first['id']}.records }}}}"
            count = f"{{{{ steps.{first['id']}.count }}}}"
        others = [a for a in actions if a is not lister]

        loop_body = [{"set": Flow({"processed": "{{ vars.processed + 1 }}"})}]
        if lister:
            inner = others[:1]
            if inner:
                c = call(inner[0], True)
                if "record_id" in inner[0]["inputs"]:
                    c["inputs"] = Flow({**(c.get("inputs", Flow({})).value),
                                        "record_id": "{{ item.sys_id }}"})
                branch = [c, {"id": next(ids), "log": Flow({"level": "info", "message":
                              f"{{{{ item.number }}}} handled by {{{{ session.user }}}} "
                              f"(status {{{{ steps.{c['id']}.status.code }}}})"})}]
                loop_body.append({"if": "{{ item.priority <= 2 && !vars.failed }}",
                                  "then": branch,
                                  "elif": [{"if": "{{ item.state == 'closed' }}",
                                            "then": ["skip_iteration"]}],
                                  "else": [{"set": Flow({"summary":
                                            "{{ vars.summary + item.number + ' ' }}"})}]})
            loop_body.append({"if": "{{ vars.processed >= 100 }}", "then": ["exit_loop"]})
            steps.append({"if": f"{{{{ steps.{first['id']}.count > 0 }}}}",
                          "then": [{"for_each": records, "as": "item", "do": loop_body,
                                    "max_iterations": 500}],
                          "else": [{"id": next(ids), "log": Flow({"level": "info", "message":
                                    f"Nothing to do for {{{{ session.user }}}} ({count} found)"})}]})
            others = others[1:]

        # The remaining actions: some guarded by try/catch, some side by side.
        pending = list(others)
        while pending:
            if len(pending) >= 2 and rng.random() < 0.4:
                a, b = pending[0], pending[1]
                pending = pending[2:]
                steps.append({"id": next(ids), "parallel": [[call(a, True)], [call(b, True)]]})
            elif rng.random() < 0.5:
                a = pending.pop(0)
                steps.append({"try": [call(a, True)], "catch": [
                    {"id": next(ids), "log": Flow({"level": "error", "message":
                                  "{{ error.step }} failed: {{ error.message }} ({{ error.code }})"})},
                    {"set": Flow({"failed": True})}]})
            else:
                a = pending.pop(0)
                c = call(a, True)
                steps.append(c)
                out = next(iter(a["outputs"]))
                steps.append({"set": Flow({"summary":
                              f"{{{{ vars.summary + to_string(steps.{c['id']}.{out}) }}}}"})})

        last_sub = None
        for sub in callees:
            c = call(sub, False)
            steps.append(c)
            last_sub = c
        if last_sub is not None:
            steps.append({"set": Flow({"processed":
                          f"{{{{ vars.processed + steps.{last_sub['id']}.total }}}}"})})

        if rng.random() < 0.3:
            steps.append({"until": "{{ vars.attempts >= 3 || !vars.failed }}", "do": [
                {"set": Flow({"attempts": "{{ vars.attempts + 1 }}"})},
                {"wait": rng.choice(["250ms", "1s"])}], "max_iterations": 5})
        steps.append({"if": "{{ vars.failed }}", "then": [
            {"id": next(ids), "log": Flow({"level": "warn", "message":
                          "Finished with errors after {{ vars.attempts }} retries"})}]})

        reaches_personal = any(a["personal"] for a in actions) or any(
            s["reaches_personal"] for s in callees)
        if reaches_personal:
            run_as = "session_user"
        else:
            run_as = rng.choice(["system", "session_user", None])

        body = {"kind": kind, "name": ref(name, scope),
                "description": f"Works through the {(lister or actions[0])['resource'].replace('_', ' ')} "
                               f"queue" + (" of the session user" if run_as == "session_user" else "")}
        if run_as:
            body["run_as"] = run_as
        if kind == "Flow":
            body["trigger"] = Flow({"type": "manual"})
        else:
            body["inputs"] = {k: Flow(v) for k, v in SUBFLOW_INPUTS.items()}
            body["outputs"] = {"total": Flow({"type": "integer"}), "records": Flow({"type": "array"}),
                               "ok": Flow({"type": "boolean"})}
        variables = {"processed": Flow({"type": "integer", "default": 0}),
                     "failed": Flow({"type": "boolean", "default": False}),
                     "attempts": Flow({"type": "integer", "default": 0}),
                     "summary": Flow({"type": "string", "default": ""})}
        if kind == "Flow":
            variables["cursor"] = Flow({"type": "string", "default": "0"})
        body["variables"] = variables
        if kind == "Subflow":
            steps.append({"assign_outputs": {
                "total": "{{ vars.processed }}",
                "records": f"{{{{ steps.{first['id']}.records }}}}" if first else Flow([]),
                "ok": "{{ !vars.failed }}"}})
        body["steps"] = steps
        return body, reaches_personal

    def write_actions_and_subflows(self):
        for a in self.actions:
            self.add_file(f"{a['scope']}_{a['name']}",
                          [f"An action on the {a['service']['company'].title()} service."], a["body"])
        for s in self.subflows:
            self.add_file(f"{s['scope']}_{s['name']}",
                          ["A subflow; call it from a flow, another subflow or FlowAPI."], s["body"])


SUBFLOW_INPUTS = {
    "limit": {"type": "integer", "default": 25},
    "record_id": {"type": "string", "default": ""},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--files", type=int, default=1000, help="how many files (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.files < 10:
        parser.error("--files must be at least 10")

    files = Generator(args.files, args.seed).generate()
    os.makedirs(args.out_dir, exist_ok=True)
    total = 0
    for name, text in sorted(files.items()):
        data = text.encode()
        total += len(data)
        with open(os.path.join(args.out_dir, name), "wb") as f:
            f.write(data)
    print(f"{len(files)} files, {total} bytes in {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
