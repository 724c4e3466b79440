// SPDX-License-Identifier: MIT
// Unit tests for the HTML report page: escaping, the chart's points and scale, the columns and the
// case cells, from a hand-made model.
#include <catch2/catch.hpp>

#include <promptops/output/html_report.hpp>

using namespace promptops::output;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

HtmlSection two_versions() {
  HtmlSection section;
  section.prompt = "support/<b>classify</b>";
  section.metric = "accuracy";
  section.history = {HtmlPoint{"v1", "1111111 first", {"production"}, 0.5, HtmlInterval{0.25, 0.75}},
                     HtmlPoint{"v2", "2222222 second \"quoted\"", {}, std::nullopt, std::nullopt}};
  HtmlColumn baseline;
  baseline.label = "v1";
  baseline.metric = "accuracy";
  baseline.value = 0.5;
  baseline.baseline = true;
  baseline.cases = 2;
  baseline.passed = 1;
  baseline.command = "git promptops eval 1111111 -- x";
  HtmlColumn missing;
  missing.label = "v2";
  missing.missing = "not evaluated: run git promptops eval 2222222 -- x";
  section.columns = {baseline, missing};
  section.case_columns = {"v1"};
  section.cases = {HtmlCase{"c<1>", "desc & more", {HtmlCell{'f', std::string(5000, 'a'), {"expected \"A\""}, ""}}},
                   HtmlCase{"c2", "", {HtmlCell{0, "", {}, ""}}}};
  return section;
}

}  // namespace

TEST_CASE("html_escape escapes markup and quotes and replaces bytes that are not UTF-8", "[output][html]") {
  CHECK(html_escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(html_escape("caf\xC3\xA9 \xFF!") == "caf\xC3\xA9 \xEF\xBF\xBD!");
  CHECK(html_escape("") == "");
}

TEST_CASE("render_html draws the trend, the columns and the cases from the model", "[output][html]") {
  HtmlReport report;
  report.title = "t <1>";
  report.command = "git promptops report";
  report.sections = {two_versions()};
  const std::string html = render_html(report);
  CHECK(html.rfind("<!DOCTYPE html>\n", 0) == 0);
  CHECK(contains(html, "<title>t &lt;1&gt;</title>"));
  CHECK(contains(html, "<h2>support/&lt;b&gt;classify&lt;/b&gt;</h2>"));
  // On the [0, 1] scale the plot spans y 14..174: 0.5 is at 94, the interval 0.25..0.75 at 134..54.
  CHECK(contains(html, "<g class=\"point\" data-version=\"v1\" data-value=\"0.500\"><title>v1 1111111 first — "
                       "accuracy 0.500 [0.250, 0.750]</title><line x1=\"48.0\" x2=\"48.0\" y1=\"134.0\" y2=\"54.0\""));
  CHECK(contains(html, "<circle cx=\"48.0\" cy=\"94.0\" r=\"4.5\""));
  CHECK(contains(html, "<g class=\"point\" data-version=\"v2\"><title>v2 2222222 second &quot;quoted&quot; — not "
                       "evaluated</title>"));
  CHECK(contains(html, "fill=\"#8250df\">production</text>"));
  CHECK(contains(html, "<td>v1 <span class=\"muted\">(baseline)</span></td><td class=\"num value\">0.500</td>"));
  CHECK(contains(html, "<td colspan=\"9\" class=\"muted\">not evaluated: run git promptops eval 2222222 -- x</td>"));
  CHECK_FALSE(contains(html, "★ best"));  // one valued column: nothing to be best against
  CHECK(contains(html, "<tr class=\"case\" data-id=\"c&lt;1&gt;\" data-outcomes=\"f\"><td><code>c&lt;1&gt;</code>"
                       "<br><span class=\"muted\">desc &amp; more</span></td><td><span class=\"outcome o-f\">fail"));
  std::string cut(4000, 'a');
  cut += "\n<span class=\"muted\">… 1000 more bytes in the results file";
  CHECK(contains(html, cut));
  CHECK(contains(html, "<li>expected &quot;A&quot;</li>"));
  CHECK(contains(html, "data-outcomes=\"-\"><td><code>c2</code></td><td><span class=\"outcome o-none\">not run"));
}

TEST_CASE("render_html lists the notes under the title, escaped, and none when there are none", "[output][html]") {
  HtmlReport report;
  report.title = "review";
  report.notes = {"Gate FAILED", "greet: fails accuracy 1.000 → 0.250 (drop > max_drop 0.000)"};
  CHECK(contains(render_html(report), "<h1>review</h1>\n<ul class=\"notes\">\n<li>Gate FAILED</li>\n"
                                      "<li>greet: fails accuracy 1.000 → 0.250 (drop &gt; max_drop 0.000)</li>\n"
                                      "</ul>\n</header>"));
  report.notes.clear();
  CHECK(contains(render_html(report), "<h1>review</h1>\n</header>"));
}

TEST_CASE("render_html scales values outside [0, 1] to their own range", "[output][html]") {
  HtmlReport report;
  HtmlSection section;
  section.prompt = "p";
  section.metric = "mean_latency";
  section.history = {HtmlPoint{"v1", "", {}, 10.0, std::nullopt}, HtmlPoint{"v2", "", {}, 30.0, std::nullopt}};
  report.sections = {section};
  const std::string html = render_html(report);
  CHECK(contains(html, "<circle cx=\"48.0\" cy=\"174.0\""));   // the lowest value at the bottom
  CHECK(contains(html, "<circle cx=\"704.0\" cy=\"14.0\""));   // the highest at the top, far right
  CHECK(contains(html, "text-anchor=\"end\">30.00</text>"));
  CHECK(contains(html, "<p class=\"muted\">No per-case results are kept for these evaluations.</p>"));
}
