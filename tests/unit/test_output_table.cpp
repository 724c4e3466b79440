// SPDX-License-Identifier: MIT
// Unit tests for output/table: alignment, unicode widths, elision, TSV.
#include <catch2/catch.hpp>

#include <promptops/output/table.hpp>

using promptops::output::Align;
using promptops::output::Table;

TEST_CASE("tables align columns, right-align numbers and trim trailing blanks", "[output]") {
  Table table({"VERSION", "NAME", "NOTE"}, {Align::right});
  table.add_row({"v10", "classify", ""});
  table.add_row({"v9", "summarize", "ok"});
  CHECK(table.render() ==
        "VERSION  NAME       NOTE\n"
        "    v10  classify\n"
        "     v9  summarize  ok\n");
}

TEST_CASE("tables count unicode code points and elide the last text column to fit", "[output]") {
  Table table({"NAME", "DESCRIPTION"});
  table.add_row({"héllo", "a long description that will not fit"});
  CHECK(table.render() ==
        "NAME   DESCRIPTION\n"
        "héllo  a long description that will not fit\n");
  CHECK(table.render(25) ==
        "NAME   DESCRIPTION\n"
        "héllo  a long descriptio…\n");
}

TEST_CASE("tsv replaces tabs and newlines inside cells", "[output]") {
  CHECK(promptops::output::render_tsv({"A", "B"}, {{"x\ty", "line\nbreak"}}) == "A\tB\nx y\tline break\n");
}
