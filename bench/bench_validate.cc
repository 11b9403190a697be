// Loading and validating a generated definition set in memory, stage by
// stage: how the time of `flowline validate DIR` divides between parsing,
// decoding and the validation rules, without process start-up or disk reads.
//
//   bench_validate [--defs DIR] [--files N] [benchmark flags]
//
// Without --defs the set is made by bench/gen_definitions.py (N files,
// default 1000) in a temporary directory, read into memory, and removed.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "dsl/loader.h"
#include "dsl/validate/validator.h"

namespace fs = std::filesystem;

namespace {

struct SourceText {
  std::string path;
  std::string text;
};

std::vector<SourceText> g_files;
int64_t g_bytes = 0;

std::vector<SourceText> read_definition_files(const fs::path& dir) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
      paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<SourceText> files;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    files.push_back({path.string(), std::string(std::istreambuf_iterator<char>(in), {})});
  }
  return files;
}

// Makes the set with the generator; returns the directory, or empty on failure.
fs::path generate(int files) {
  fs::path dir = fs::temp_directory_path() / ("flowline-bench-" + std::to_string(::getpid()));
  std::string command = std::string(FLOWLINE_BENCH_PYTHON) + " " + FLOWLINE_BENCH_GENERATOR +
                        " " + dir.string() + " --files " + std::to_string(files);
  if (std::system(command.c_str()) != 0) return {};
  return dir;
}

flowline::DefinitionSet load_all(flowline::Diagnostics& diagnostics) {
  flowline::DefinitionSet set;
  for (const auto& file : g_files)
    flowline::load_definitions_from_text(file.path, file.text, set, diagnostics);
  return set;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(g_files.size()));
  state.SetBytesProcessed(state.iterations() * g_bytes);
}

// Parsing and decoding every file into definitions (what precedes the rules).
void BM_Load(benchmark::State& state) {
  for (auto _ : state) {
    flowline::Diagnostics diagnostics;
    flowline::DefinitionSet set = load_all(diagnostics);
    benchmark::DoNotOptimize(set.all().data());
  }
  report(state);
}

// The validation rules alone, over a set loaded once.
void BM_Validate(benchmark::State& state) {
  flowline::Diagnostics load_diagnostics;
  flowline::DefinitionSet set = load_all(load_diagnostics);
  for (auto _ : state) {
    flowline::Diagnostics diagnostics;
    flowline::validate(set, diagnostics);
    benchmark::DoNotOptimize(diagnostics.items().data());
  }
  report(state);
}

// Both, as `flowline validate` does them.
void BM_LoadAndValidate(benchmark::State& state) {
  for (auto _ : state) {
    flowline::Diagnostics diagnostics;
    flowline::DefinitionSet set = load_all(diagnostics);
    flowline::validate(set, diagnostics);
    benchmark::DoNotOptimize(diagnostics.items().data());
  }
  report(state);
}

BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Validate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadAndValidate)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::string defs;
  int files = 1000;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--defs" && i + 1 < argc) defs = argv[++i];
    else if (arg == "--files" && i + 1 < argc) files = std::atoi(argv[++i]);
    else rest.push_back(argv[i]);
  }
  fs::path generated;
  if (defs.empty()) {
    generated = generate(files);
    if (generated.empty()) {
      std::cerr << "bench_validate: the generator failed\n";
      return 2;
    }
    defs = generated.string();
  }
  g_files = read_definition_files(defs);
  if (!generated.empty()) fs::remove_all(generated);
  for (const auto& file : g_files) g_bytes += static_cast<int64_t>(file.text.size());

  // A benchmark of a set that does not validate cleanly would measure error
  // reporting, not validation: refuse it.
  flowline::Diagnostics diagnostics;
  flowline::DefinitionSet set = load_all(diagnostics);
  flowline::validate(set, diagnostics);
  if (!diagnostics.items().empty()) {
    std::cerr << "bench_validate: the set in " << defs << " has " << diagnostics.items().size()
              << " diagnostics; expected none\n";
    return 1;
  }
  std::cerr << g_files.size() << " files, " << g_bytes << " bytes\n";

  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
