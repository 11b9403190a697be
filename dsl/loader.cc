#include "dsl/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "dsl/decoder.h"
#include "dsl/suggest.h"

namespace fs = std::filesystem;

namespace flowline {

namespace {

bool is_definition_file(const fs::path& path) {
  auto ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool is_json(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

SourceRange whole_file(const std::string& path) {
  SourceRange range;
  range.file = std::make_shared<SourceFile>(path, "");
  return range;
}

// Reads a file, refusing ones over the size limit before reading them.
std::optional<std::string> read_file(const fs::path& path, const LoadLimits& limits,
                                     Diagnostics& diagnostics) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (!ec && size > limits.max_file_bytes) {
    diagnostics.error("file-too-large", whole_file(path.string()),
                      fmt::format("file is {} bytes; definition files are limited to {} bytes", size,
                                  limits.max_file_bytes));
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.error("unreadable-path", whole_file(path.string()),
                      fmt::format("cannot read '{}': {}", path.string(), std::strerror(errno)));
    return std::nullopt;
  }
  std::string text;
  if (!ec) text.reserve(size);
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > limits.max_file_bytes) break;  // grew while being read
  }
  return text;
}

}  // namespace

void decode_document(const Document& document, DefinitionSet& set, Diagnostics& diagnostics) {
  const Node& root = document.root;
  Decoder d(diagnostics);
  if (!root.is_mapping()) {
    diagnostics.error("not-a-definition", root.range,
                      fmt::format("a definition must be a mapping with 'kind' and 'name', not {}",
                                  Node::describe(root.type)));
    return;
  }
  std::vector<std::string> kinds = {"OAuthProfile", "ConnectionAlias", "HttpConnection",
                                    "Credential",   "Action",          "Subflow",
                                    "Flow"};
  const Node* kind_node = root.find("kind");
  if (!kind_node) {
    diagnostics.error("missing-kind", root.range, "definition has no 'kind'",
                      "add `kind:` with one of OAuthProfile, ConnectionAlias, HttpConnection, "
                      "Credential, Action, Subflow, Flow");
    return;
  }
  auto kind_text = d.string(*kind_node, "kind");
  if (!kind_text) return;
  auto kind = kind_from_name(*kind_text);
  if (!kind) {
    std::string message = fmt::format("unknown kind '{}'", *kind_text);
    std::string help;
    if (auto near = closest_match(*kind_text, kinds))
      message += fmt::format(" (did you mean '{}'?)", *near);
    else
      help = "kind must be one of OAuthProfile, ConnectionAlias, HttpConnection, Credential, "
             "Action, Subflow, Flow";
    diagnostics.error("unknown-kind", kind_node->range, std::move(message), std::move(help));
    return;
  }

  std::unique_ptr<Definition> definition;
  if (*kind == Kind::Action || *kind == Kind::Subflow || *kind == Kind::Flow)
    definition = decode_runnable_kind(*kind, root, d);
  else
    definition = decode_connection_kind(*kind, root, d);

  definition->range = root.range;
  const Node* name_node = root.find("name");
  if (!name_node) {
    diagnostics.error("missing-field", root.range,
                      fmt::format("missing required key 'name' in {}", *kind_text));
    return;
  }
  auto name = d.string(*name_node, "name");
  if (!name || !d.check_name(*name_node, fmt::format("{} name", *kind_text))) return;
  definition->name_range = name_node->range;
  definition->full_name = DefinitionSet::qualify(*name);
  auto dot = definition->full_name.find('.');
  definition->scope = definition->full_name.substr(0, dot);
  definition->name = definition->full_name.substr(dot + 1);
  if (const Node* n = root.find("description"))
    if (auto s = d.string(*n, "description")) definition->description = *s;
  set.add(std::move(definition));
}

void load_definitions_from_text(const std::string& path, std::string text, DefinitionSet& set,
                                Diagnostics& diagnostics, const LoadLimits& limits) {
  auto file = std::make_shared<const SourceFile>(path, std::move(text));
  auto documents = is_json(path) ? load_json(file, diagnostics, limits)
                                 : load_yaml(file, diagnostics, limits);
  for (const auto& document : documents) decode_document(document, set, diagnostics);
}

DefinitionSet load_definitions(const std::vector<std::string>& paths, Diagnostics& diagnostics,
                               const LoadLimits& limits) {
  DefinitionSet set;
  std::vector<std::string> inputs = paths.empty() ? std::vector<std::string>{"."} : paths;
  for (const auto& input : inputs) {
    if (input == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      load_definitions_from_text("<stdin>", std::move(text), set, diagnostics, limits);
      continue;
    }
    std::error_code ec;
    fs::path path(input);
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      diagnostics.error("unreadable-path", whole_file(input),
                        fmt::format("no such file or directory: '{}'", input));
      continue;
    }
    std::vector<fs::path> files;
    if (fs::is_directory(status)) {
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      if (ec) {
        diagnostics.error("unreadable-path", whole_file(input),
                          fmt::format("cannot read directory '{}': {}", input, ec.message()));
        continue;
      }
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        // Hidden folders (.git, .ci) hold no definitions.
        if (it->is_directory() && it->path().filename().string().starts_with(".")) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && is_definition_file(it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      auto text = read_file(file, limits, diagnostics);
      if (!text) continue;
      load_definitions_from_text(file.lexically_normal().string(), std::move(*text), set, diagnostics,
                                 limits);
    }
  }
  return set;
}

}  // namespace flowline
