// "Did you mean …?" suggestions for misspelt keys, names and identifiers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowline {

// The candidate closest to `word` by Damerau-Levenshtein distance (optimal
// string alignment: insertions, deletions, substitutions and transpositions of
// adjacent code points), or nullopt when none is close enough.
//
// Distances are measured case-insensitively (ASCII), so 'Inputs' finds
// 'inputs'. A candidate qualifies when its distance is at most
// max(1, length(word) / 3) and it is not a complete rewrite of the word (the
// distance is smaller than the longer length), so 'x' never suggests 'y'. Ties
// go to the candidate whose case-sensitive distance is smaller, then to the
// earliest in `candidates`. Lengths are counted in code points; words longer
// than 256 code points get no suggestion.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" for the closest match, or "" when there is none, so
// a message can be built as "unknown key 'y'" + did_you_mean(…).
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace flowline
