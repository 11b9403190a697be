// action_reads_step_output: which pills can read a step's output. The runtime
// skips building a REST step's `headers` when this says no pill reads them,
// so a "no" must never be wrong; "yes" is fine whenever in doubt.
#include <gtest/gtest.h>

#include <string>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/output_reads.h"

namespace flowline {
namespace {

// An action named `a` with one REST step `fetch`, the given extra YAML
// under the step's path/headers and the action's steps and outputs.
class OutputReadsTest : public ::testing::Test {
 protected:
  bool Reads(const std::string& yaml, const std::string& step = "fetch",
             const std::string& field = "headers") {
    set_ = DefinitionSet();
    Diagnostics diagnostics;
    load_definitions_from_text("doc.yaml", yaml, set_, diagnostics);
    EXPECT_FALSE(diagnostics.has_errors()) << render_text(diagnostics);
    const Action* action = set_.find_as<Action>(Kind::Action, "a");
    EXPECT_NE(action, nullptr);
    if (action == nullptr) return true;
    return action_reads_step_output(*action, step, field);
  }

  static std::string ActionYaml(const std::string& outputs, const std::string& more_steps = "") {
    return "kind: Action\nname: a\noutputs:\n" + outputs +
           "steps:\n"
           "  - id: fetch\n"
           "    rest: {url: 'https://api.example.com', method: GET, path: /x}\n" +
           more_steps;
  }

  DefinitionSet set_;
};

TEST_F(OutputReadsTest, BodyOnlyDoesNotReadHeaders) {
  EXPECT_FALSE(Reads(ActionYaml("  n: {type: integer, value: '{{ length(steps.fetch.body.result) }}'}\n")));
  EXPECT_FALSE(Reads(ActionYaml("  s: {type: integer, value: '{{ steps.fetch.status_code }}'}\n")));
  // Another step's headers are another step's.
  EXPECT_FALSE(Reads(ActionYaml("  h: {type: string, value: '{{ steps.other.headers.etag }}'}\n",
                            "  - id: other\n"
                            "    rest: {url: 'https://api.example.com', method: GET, path: /y}\n")));
}

TEST_F(OutputReadsTest, NamedHeadersAreRead) {
  EXPECT_TRUE(Reads(ActionYaml("  h: {type: string, value: '{{ steps.fetch.headers.etag }}'}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  h: {type: string, value: \"{{ steps.fetch['headers']['etag'] }}\"}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  h: {type: object, value: '{{ steps.fetch.headers }}'}\n")));
  // Inside a function call, a condition, a later step's request.
  EXPECT_TRUE(Reads(ActionYaml("  n: {type: integer, value: '{{ length(steps.fetch.headers) }}'}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  n: {type: integer, value: '{{ 1 }}'}\n",
                           "  - id: next\n"
                           "    rest:\n"
                           "      url: 'https://api.example.com'\n"
                           "      method: GET\n"
                           "      path: /y\n"
                           "      headers: {If-None-Match: '{{ steps.fetch.headers.etag }}'}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  n: {type: integer, value: '{{ 1 }}'}\n",
                           "  - id: note\n"
                           "    log: {message: 'etag {{ steps.fetch.headers.etag }}'}\n")));
}

TEST_F(OutputReadsTest, TheWholeStepOrComputedNamesCountAsRead) {
  EXPECT_TRUE(Reads(ActionYaml("  o: {type: object, value: '{{ steps.fetch }}'}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  o: {type: object, value: '{{ steps }}'}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  o: {type: string, value: \"{{ steps.fetch['head' + 'ers'].etag }}\"}\n")));
  EXPECT_TRUE(Reads(ActionYaml("  o: {type: string, value: \"{{ steps['fe' + 'tch'].body }}\"}\n")));
}

TEST_F(OutputReadsTest, ErrorEvaluationIsRead) {
  EXPECT_TRUE(Reads("kind: Action\nname: a\n"
                    "steps:\n"
                    "  - id: fetch\n"
                    "    rest: {url: 'https://api.example.com', method: GET, path: /x}\n"
                    "error_evaluation:\n"
                    "  - when: \"{{ steps.fetch.headers['x-error'] != null }}\"\n"
                    "    message: failed\n"));
}

}  // namespace
}  // namespace flowline
