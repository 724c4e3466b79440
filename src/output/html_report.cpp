// SPDX-License-Identifier: MIT
// The HTML report page. Everything that comes from a repository, a dataset or a model goes through
// html_escape(); the page loads nothing (its Content-Security-Policy forbids any request), so it
// works from file:// and as a CI artifact.
#include <promptops/output/html_report.hpp>

#include <algorithm>
#include <cmath>

#include <promptops/util/strings.hpp>

namespace promptops::output {

namespace {

constexpr std::string_view k_head = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="git-promptops">
)";

constexpr std::string_view k_style = R"(<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:1em 2em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
code,pre,.mono{font-family:ui-monospace,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;margin:.3em 0;background:#f6f6f6;padding:.4em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.best td{background:#eef8ee}.best-mark{color:#1a7f37;font-weight:600}
.outcome{display:inline-block;min-width:3.2em;text-align:center;border-radius:3px;padding:0 .3em;font-weight:600;color:#fff}
.o-p{background:#1a7f37}.o-f{background:#cf222e}.o-x{background:#bf8700}.o-e{background:#6e7781}.o-none{background:#d0d7de;color:#57606a}
ins{background:#dafbe1;text-decoration:none}del{background:#ffebe9}
.muted{color:#57606a}.controls{margin:.6em 0}.controls button{margin-right:.3em}
svg.trend{background:#fafafa;border:1px solid #ddd}svg.trend text{font:11px system-ui,sans-serif;fill:#57606a}
ul.reasons{margin:.2em 0;padding-left:1.2em}
</style>
)";

// Filters the case tables by outcome and text; without it every case shows.
constexpr std::string_view k_script = R"(<script>
(function () {
  function apply(section) {
    var show = section.getAttribute('data-show') || 'all';
    var input = section.querySelector('input.search');
    var needle = input ? input.value.toLowerCase() : '';
    var rows = section.querySelectorAll('tr.case');
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var outcomes = row.getAttribute('data-outcomes');
      var ok = show === 'all' || outcomes.indexOf(show) >= 0;
      if (ok && needle) ok = row.textContent.toLowerCase().indexOf(needle) >= 0;
      row.style.display = ok ? '' : 'none';
      if (ok) shown++;
    }
    var count = section.querySelector('.shown');
    if (count) count.textContent = shown + ' shown';
  }
  var sections = document.querySelectorAll('section.prompt');
  for (var s = 0; s < sections.length; s++) {
    (function (section) {
      var buttons = section.querySelectorAll('button[data-show]');
      for (var b = 0; b < buttons.length; b++) {
        buttons[b].addEventListener('click', function () {
          section.setAttribute('data-show', this.getAttribute('data-show'));
          apply(section);
        });
      }
      var input = section.querySelector('input.search');
      if (input) input.addEventListener('input', function () { apply(section); });
      var controls = section.querySelector('.controls');
      if (controls) controls.hidden = false;
    })(sections[s]);
  }
})();
</script>
)";

std::string number(double value, int digits) { return util::fixed(value, digits); }

std::string interval_text(const std::optional<HtmlInterval>& interval) {
  return interval ? "[" + number(interval->low, 3) + ", " + number(interval->high, 3) + "]" : "";
}

std::string outcome_badge(char outcome) {
  const std::string name = outcome_word(outcome);
  return "<span class=\"outcome o-" + (outcome == 0 ? std::string("none") : std::string(1, outcome)) + "\">" +
         (outcome == 0 ? "not run" : name) + "</span>";
}

// ---- the trend chart ---------------------------------------------------------------------------

struct Scale {
  double low = 0.0;
  double high = 1.0;
};

// [0, 1] when every value and interval fits in it (rates and scores); else the data's own range.
Scale scale_of(const std::vector<HtmlPoint>& points) {
  double low = 0.0;
  double high = 1.0;
  bool unit = true;
  double data_low = INFINITY;
  double data_high = -INFINITY;
  for (const HtmlPoint& point : points) {
    if (!point.value) {
      continue;
    }
    const double lo = point.interval ? std::min(point.interval->low, *point.value) : *point.value;
    const double hi = point.interval ? std::max(point.interval->high, *point.value) : *point.value;
    data_low = std::min(data_low, lo);
    data_high = std::max(data_high, hi);
    unit = unit && lo >= 0.0 && hi <= 1.0;
  }
  if (!unit && std::isfinite(data_low)) {
    low = data_low;
    high = data_high > data_low ? data_high : data_low + 1.0;
  }
  return Scale{low, high};
}

std::string trend_chart(const HtmlSection& section) {
  constexpr double k_width = 720;
  constexpr double k_height = 220;
  constexpr double k_left = 48;
  constexpr double k_right = 16;
  constexpr double k_top = 14;
  constexpr double k_bottom = 46;
  const std::vector<HtmlPoint>& points = section.history;
  const Scale scale = scale_of(points);
  const double plot_w = k_width - k_left - k_right;
  const double plot_h = k_height - k_top - k_bottom;
  const auto x_of = [&](std::size_t i) {
    return points.size() == 1 ? k_left + plot_w / 2
                              : k_left + plot_w * static_cast<double>(i) / static_cast<double>(points.size() - 1);
  };
  const auto y_of = [&](double v) { return k_top + plot_h * (1.0 - (v - scale.low) / (scale.high - scale.low)); };
  const auto at = [](double v) { return number(v, 1); };

  std::string svg = "<svg class=\"trend\" role=\"img\" viewBox=\"0 0 " + at(k_width) + " " + at(k_height) +
                    "\" width=\"" + at(k_width) + "\" height=\"" + at(k_height) + "\" aria-label=\"" +
                    html_escape(section.metric + " per version of " + section.prompt) + "\">\n";
  for (int tick = 0; tick <= 4; ++tick) {
    const double v = scale.low + (scale.high - scale.low) * tick / 4.0;
    const double y = y_of(v);
    svg += "<line x1=\"" + at(k_left) + "\" x2=\"" + at(k_width - k_right) + "\" y1=\"" + at(y) + "\" y2=\"" +
           at(y) + "\" stroke=\"#e5e5e5\"/><text x=\"" + at(k_left - 6) + "\" y=\"" + at(y + 4) +
           "\" text-anchor=\"end\">" + number(v, 2) + "</text>\n";
  }
  std::string line;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].value) {
      line += (line.empty() ? "" : " ") + at(x_of(i)) + "," + at(y_of(*points[i].value));
    }
  }
  if (!line.empty()) {
    svg += "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"" + line + "\"/>\n";
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const HtmlPoint& point = points[i];
    const std::string x = at(x_of(i));
    std::string title = point.label + " " + point.title;
    if (point.value) {
      title += " — " + section.metric + " " + number(*point.value, 3) +
               (point.interval ? " " + interval_text(point.interval) : "");
    } else {
      title += " — not evaluated";
    }
    svg += "<g class=\"point\" data-version=\"" + html_escape(point.label) + "\"" +
           (point.value ? " data-value=\"" + number(*point.value, 3) + "\"" : "") + "><title>" +
           html_escape(title) + "</title>";
    if (point.value && point.interval) {
      svg += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + at(y_of(point.interval->low)) + "\" y2=\"" +
             at(y_of(point.interval->high)) + "\" stroke=\"#0969da\" stroke-opacity=\"0.45\" stroke-width=\"3\"/>";
    }
    if (point.value) {
      svg += "<circle cx=\"" + x + "\" cy=\"" + at(y_of(*point.value)) + "\" r=\"4.5\" fill=\"#0969da\"/>";
    } else {
      svg += "<circle cx=\"" + x + "\" cy=\"" + at(k_top + plot_h) + "\" r=\"4\" fill=\"none\" stroke=\"#999\"/>";
    }
    svg += "<text x=\"" + x + "\" y=\"" + at(k_height - k_bottom + 16) + "\" text-anchor=\"middle\">" +
           html_escape(point.label) + "</text>";
    if (!point.aliases.empty()) {
      svg += "<text class=\"alias\" x=\"" + x + "\" y=\"" + at(k_height - k_bottom + 32) +
             "\" text-anchor=\"middle\" fill=\"#8250df\">" + html_escape(util::join(point.aliases, ", ")) + "</text>";
    }
    svg += "</g>\n";
  }
  return svg + "</svg>\n";
}

// ---- tables ------------------------------------------------------------------------------------

std::string matrix_table(const HtmlSection& section) {
  std::string html =
      "<table class=\"matrix\">\n<thead><tr><th>column</th><th>" + html_escape(section.metric) +
      "</th><th>95% interval</th><th>vs baseline</th><th>p (paired)</th><th>cases passed</th><th>tokens in/out</th>"
      "<th>cost</th><th>latency p50</th><th>latency p95</th><th>eval key</th><th>reproduce</th></tr></thead>\n<tbody>\n";
  for (const HtmlColumn& column : section.columns) {
    html += std::string("<tr class=\"column") + (column.best ? " best" : "") + "\" data-label=\"" +
            html_escape(column.label) + "\">";
    html += "<td>" + html_escape(column.label) + (column.baseline ? " <span class=\"muted\">(baseline)</span>" : "") +
            (column.best ? " <span class=\"best-mark\" title=\"best\">★ best</span>" : "") + "</td>";
    if (!column.value) {
      html += "<td colspan=\"9\" class=\"muted\">" + html_escape(column.missing) + "</td>";
    } else {
      const auto ms = [](const std::optional<double>& v) { return v ? number(*v, 0) + " ms" : std::string("-"); };
      html += "<td class=\"num value\">" + number(*column.value, 3) + "</td>";
      html += "<td class=\"num\">" + interval_text(column.interval) + "</td>";
      html += "<td class=\"num\">" + (column.delta ? (*column.delta >= 0 ? "+" : "") + number(*column.delta, 3) : "") +
              "</td>";
      html += "<td class=\"num\">" + (column.p_value ? util::shortest(*column.p_value) : "") + "</td>";
      html += "<td class=\"num\">" + std::to_string(column.passed) + "/" + std::to_string(column.cases) + "</td>";
      html += "<td class=\"num\">" + std::to_string(column.tokens_in) + " / " + std::to_string(column.tokens_out) +
              "</td>";
      html += "<td class=\"num\">$" + util::shortest(column.cost) + "</td>";
      html += "<td class=\"num\">" + ms(column.p50_ms) + "</td><td class=\"num\">" + ms(column.p95_ms) + "</td>";
    }
    html += "<td class=\"mono\">" + html_escape(column.key.substr(0, 12)) + "</td><td><code>" +
            html_escape(column.command) + "</code></td></tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string flips_block(const HtmlFlips& flips) {
  std::string html = "<div class=\"flips\"><h3>Flipped cases, " + html_escape(flips.from) + " → " +
                     html_escape(flips.to) + "</h3>\n";
  const auto list = [](const char* what, const std::vector<std::string>& ids) {
    std::string out = "<p>" + std::string(what) + " (" + std::to_string(ids.size()) + "): ";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      out += (i == 0 ? "" : ", ") + ("<code>" + html_escape(ids[i]) + "</code>");
    }
    return out + "</p>\n";
  };
  html += list("pass → fail", flips.pass_to_fail);
  html += list("fail → pass", flips.fail_to_pass);
  if (!flips.prompt_diff.empty()) {
    html += "<p>The prompt's word diff:</p><pre class=\"prompt-diff\">";
    for (const HtmlDiffRun& run : flips.prompt_diff) {
      const std::string text = html_escape(run.text);
      html += run.kind == '+' ? "<ins>" + text + "</ins>" : run.kind == '-' ? "<del>" + text + "</del>" : text;
    }
    html += "</pre>\n";
  }
  return html + "</div>\n";
}

std::string cell_html(const HtmlCell& cell) {
  std::string html = "<td>" + outcome_badge(cell.outcome);
  if (cell.outcome == 0) {
    return html + "</td>";
  }
  if (!cell.error.empty()) {
    html += " <span class=\"muted\">" + html_escape(cell.error) + "</span>";
  }
  const std::string_view shown = std::string_view(cell.output).substr(0, k_html_output_bytes);
  html += "<details><summary>output</summary><pre>" + html_escape(shown);
  if (cell.output.size() > shown.size()) {
    html += "\n<span class=\"muted\">… " + std::to_string(cell.output.size() - shown.size()) +
            " more bytes in the results file</span>";
  }
  html += "</pre></details>";
  if (!cell.reasons.empty()) {
    html += "<ul class=\"reasons\">";
    for (const std::string& reason : cell.reasons) {
      html += "<li>" + html_escape(reason) + "</li>";
    }
    html += "</ul>";
  }
  return html + "</td>";
}

std::string cases_table(const HtmlSection& section) {
  if (section.cases.empty()) {
    return "<p class=\"muted\">No per-case results are kept for these evaluations.</p>\n";
  }
  std::string html =
      "<div class=\"controls\" hidden>show <button data-show=\"all\">all</button><button data-show=\"p\">pass"
      "</button><button data-show=\"f\">fail</button><button data-show=\"x\">flaky</button><button "
      "data-show=\"e\">error</button> <input class=\"search\" type=\"search\" placeholder=\"search cases\"> "
      "<span class=\"shown muted\"></span></div>\n";
  html += "<table class=\"cases\">\n<thead><tr><th>case</th>";
  for (const std::string& label : section.case_columns) {
    html += "<th>" + html_escape(label) + "</th>";
  }
  html += "</tr></thead>\n<tbody>\n";
  for (const HtmlCase& c : section.cases) {
    std::string outcomes;
    for (const HtmlCell& cell : c.cells) {
      outcomes += cell.outcome == 0 ? '-' : cell.outcome;
    }
    html += "<tr class=\"case\" data-id=\"" + html_escape(c.id) + "\" data-outcomes=\"" + outcomes + "\"><td><code>" +
            html_escape(c.id) + "</code>" +
            (c.description.empty() ? "" : "<br><span class=\"muted\">" + html_escape(c.description) + "</span>") +
            "</td>";
    for (const HtmlCell& cell : c.cells) {
      html += cell_html(cell);
    }
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string section_html(const HtmlSection& section) {
  std::string html = "<section class=\"prompt\" data-prompt=\"" + html_escape(section.prompt) + "\">\n<h2>" +
                     html_escape(section.prompt) + "</h2>\n";
  html += "<h3>" + html_escape(section.metric) + " per version</h3>\n" + trend_chart(section);
  html += "<h3>Columns</h3>\n" + matrix_table(section);
  if (section.flips) {
    html += flips_block(*section.flips);
  }
  html += "<h3>Cases (" + std::to_string(section.cases.size()) + ")</h3>\n" + cases_table(section);
  return html + "</section>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = util::utf8_sequence_length(text, pos);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++pos;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(pos, length));
      pos += length;
      continue;
    }
    switch (const char c = text[pos++]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? ' ' : c;
    }
  }
  return out;
}

const char* outcome_word(char outcome) {
  switch (outcome) {
    case 'p':
      return "pass";
    case 'f':
      return "fail";
    case 'x':
      return "flaky";
    case 'e':
      return "error";
    default:
      return "none";
  }
}

std::string render_html(const HtmlReport& report) {
  std::string html(k_head);
  html += "<title>" + html_escape(report.title) + "</title>\n";
  html += k_style;
  html += "</head>\n<body>\n<header><h1>" + html_escape(report.title) + "</h1>\n";
  if (!report.command.empty()) {
    html += "<p class=\"muted\">Made by <code>" + html_escape(report.command) +
            "</code> from the cache and the notes.</p>\n";
  }
  if (!report.notes.empty()) {
    html += "<ul class=\"notes\">\n";
    for (const std::string& note : report.notes) {
      html += "<li>" + html_escape(note) + "</li>\n";
    }
    html += "</ul>\n";
  }
  html += "</header>\n";
  if (report.sections.empty()) {
    html += "<p class=\"muted\">No evaluated prompt in this range.</p>\n";
  }
  for (const HtmlSection& section : report.sections) {
    html += section_html(section);
  }
  html += k_script;
  return html + "</body>\n</html>\n";
}

}  // namespace promptops::output
