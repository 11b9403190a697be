#include "dsl/suggest.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace flowline {
namespace {

// Nobody misspells a name this long; beyond it, measuring would only cost time.
constexpr size_t kMaxSuggestibleLength = 256;

// Code points of UTF-8 text; an invalid byte stands for itself, which is all
// a distance needs.
std::u32string decode(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t extra = byte >= 0xF0 ? 3 : byte >= 0xE0 ? 2 : byte >= 0xC0 ? 1 : 0;
    if (i + extra >= text.size()) extra = 0;
    for (size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) extra = 0;
    char32_t point = extra == 0 ? byte : byte & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) point = (point << 6) | (text[i + k] & 0x3F);
    out.push_back(point);
    i += 1 + extra;
  }
  return out;
}

std::u32string fold_case(std::u32string text) {
  for (auto& c : text)
    if (c >= U'A' && c <= U'Z') c = c - U'A' + U'a';
  return text;
}

// Optimal string alignment distance; gives up (returns limit + 1) as soon as
// the distance must exceed `limit`, so long words cost little.
size_t osa_distance(const std::u32string& a, const std::u32string& b, size_t limit) {
  size_t length_gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (length_gap > limit) return limit + 1;
  std::vector<size_t> before_previous(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    size_t row_minimum = current[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before_previous[j - 2] + 1);
      row_minimum = std::min(row_minimum, current[j]);
    }
    if (row_minimum > limit) return limit + 1;
    std::swap(before_previous, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  if (word.size() > kMaxSuggestibleLength * 4) return std::nullopt;
  const std::u32string exact_word = decode(word);
  if (exact_word.size() > kMaxSuggestibleLength) return std::nullopt;
  const std::u32string folded_word = fold_case(exact_word);
  const size_t limit = std::max<size_t>(1, exact_word.size() / 3);

  const std::string* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  size_t best_exact_distance = std::numeric_limits<size_t>::max();
  for (const auto& candidate : candidates) {
    if (candidate.size() > kMaxSuggestibleLength * 4) continue;
    const std::u32string exact_candidate = decode(candidate);
    size_t distance = osa_distance(folded_word, fold_case(exact_candidate), limit);
    if (distance > limit) continue;
    if (distance > 0 && distance >= std::max(exact_word.size(), exact_candidate.size())) continue;
    if (distance > best_distance) continue;
    size_t exact_distance =
        osa_distance(exact_word, exact_candidate, exact_word.size() + exact_candidate.size());
    if (distance == best_distance && exact_distance >= best_exact_distance) continue;
    best = &candidate;
    best_distance = distance;
    best_exact_distance = exact_distance;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto match = closest_match(word, candidates);
  if (!match) return {};
  return " (did you mean '" + *match + "'?)";
}

}  // namespace flowline
