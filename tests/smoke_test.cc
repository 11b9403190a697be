#include <gtest/gtest.h>
#include "definitions/definitions.h"
#include "definitions/source.h"
TEST(SourceFile, PositionsAreOneBasedAndCountCodePoints) {
  flowline::SourceFile f("a.yaml", "ab\nc\xc3\xa9x\n");
  auto p = f.position_at(6);  // 'x'
  EXPECT_EQ(p.line, 2u);
  EXPECT_EQ(p.column, 3u);
  EXPECT_EQ(f.line_text(2), "c\xc3\xa9x");
}
