// Templated values: strings that may hold data pills, and value trees whose
// string leaves may hold them.
//
// A string that is exactly one pill ("{{ steps.get.count }}") yields the typed
// value of its expression; otherwise each pill is rendered into the string.
// Pills are parsed when definitions load (dsl/pill_parser); a Template whose
// pill failed to parse keeps its text and has `parts` empty.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "definitions/expression.h"
#include "definitions/source.h"
#include "definitions/value.h"

namespace flowline {

struct TemplatePart {
  std::string text;  // literal text (when expr is null)
  ExprPtr expr;      // a pill
};

struct Template {
  std::string source;  // the text as written
  SourceRange range;   // where it was written
  std::vector<TemplatePart> parts;

  bool empty() const { return source.empty(); }
  // True when the whole string is exactly one pill (the result keeps its type).
  bool is_single_pill() const { return parts.size() == 1 && parts[0].expr != nullptr; }
  // True when there is no pill at all.
  bool is_literal() const {
    for (const auto& part : parts)
      if (part.expr) return false;
    return true;
  }
};

struct ValueTemplateField;

// A value as written in a definition: a literal, a templated string, or an
// array/object whose leaves may be templated strings (request bodies, call
// inputs, `set` values).
struct ValueTemplate {
  enum class Kind { Literal, Template, Array, Object };
  Kind kind = Kind::Literal;
  Value literal;                                            // Literal
  Template tmpl;                                            // Template
  std::vector<ValueTemplate> items;                         // Array
  std::vector<ValueTemplateField> fields;                   // Object, in written order
  SourceRange range;
};

// One member of an object ValueTemplate. (A named struct rather than a
// std::pair: a pair of an incomplete type inside the vector does not compile
// with every standard library.)
struct ValueTemplateField {
  std::string name;
  ValueTemplate value;
};

// A named templated value, e.g. one entry of `inputs:` on a call or `set:`.
struct NamedValue {
  std::string name;
  SourceRange name_range;
  ValueTemplate value;
};

}  // namespace flowline
