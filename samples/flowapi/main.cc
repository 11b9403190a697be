// The reference product's sample, in C++ with FlowAPI: run the personal
// incidents subflow as a session user and print its outputs.
//
//   build/samples/flowapi/flowapi-example samples/personal-incidents alice
#include <flowline/flow_api.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  std::string defs = argc > 1 ? argv[1] : "samples/personal-incidents";
  std::string user = argc > 2 ? argv[2] : flowline::Engine::default_user();
  try {
    auto engine = flowline::Engine::open({defs});
    // Execute synchronously in the foreground. Allows access to subflow outputs.
    auto result = flowline::FlowAPI::getRunner(*engine)
                      .subflow("global.getpersonalincidentssubflow")
                      .inSession(flowline::Session{user})
                      .inForeground()
                      .withInputs({{"limit", 5}})
                      .timeout(std::chrono::seconds(30))
                      .run();
    auto outputs = result.getOutputs();
    std::printf("context id: %s\noutputs: %s\n", result.getContextId().c_str(),
                outputs.to_json().c_str());
    return 0;
  } catch (const flowline::FlowError& ex) {
    std::fprintf(stderr, "%s [%s]\n", ex.getMessage().c_str(), ex.code().c_str());
    return ex.code() == "token_missing" || ex.code() == "token_invalid" ? 3 : 1;
  }
}
