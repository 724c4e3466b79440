// SPDX-License-Identifier: MIT
// End-to-end: the HTML report. `report` builds the page from the cache and the notes without a
// model call; eval writes the same page with --format html and -o FILE.html; everything from a model
// is escaped; and headless Chromium (started here) loads the page from file://, runs its script,
// sends no request, and leaves a screenshot in ./artifacts for CI to keep.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;

namespace {

// A TCP listener on 127.0.0.1 that counts the connections it gets and closes them: where a page
// that leaked a request would send it.
class LeakListener {
 public:
  LeakListener() {
    m_socket = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_socket >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(m_socket, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(m_socket, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    m_port = ntohs(address.sin_port);
    m_thread = std::thread([this] { accept_until_stopped(); });
  }
  ~LeakListener() {
    m_stop = true;
    m_thread.join();
    ::close(m_socket);
  }
  LeakListener(const LeakListener&) = delete;
  LeakListener& operator=(const LeakListener&) = delete;

  int port() const { return m_port; }
  int connections() const { return m_connections; }

 private:
  void accept_until_stopped() {
    while (!m_stop) {
      pollfd ready{m_socket, POLLIN, 0};
      if (::poll(&ready, 1, 50) > 0) {
        const int client = ::accept(m_socket, nullptr, nullptr);
        if (client >= 0) {
          ++m_connections;
          ::close(client);
        }
      }
    }
  }

  int m_socket = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_connections{0};
  std::thread m_thread;
};

// What a hostile model answers for case "gamma": markup that would run, load or restyle if the
// page did not escape it, aimed at `port` on loopback.
std::string hostile_answer(int port) {
  const std::string at = "http://127.0.0.1:" + std::to_string(port);
  return "yes <script>document.title='pwned'</script><img src=\"" + at + "/img\"><link rel=\"stylesheet\" href=\"" +
         at + "/css\"><style>@import url(" + at + "/import);</style> & done";
}

// Two versions of prompts/ask.toml: v1 "Q: {{q}}" fails case beta, v2 "Asked: {{q}}" passes all
// three; v1 carries the alias "production"; each evaluated by `eval REV` (v1 is the root commit, so
// no A..B range holds both: `report` without one shows the last 10 commits).
struct ReportRepo {
  AskRepo p;
  std::string v1;
  std::string v2;

  explicit ReportRepo(int hostile_port)
      : p("  { type = \"contains\", value = \"yes\" },\n",
          ask_row("alpha", "alpha") + ask_row("beta", "beta", {{"description", "the flipped one"}}) +
              ask_row("gamma", "gamma"),
          {{{"Q: beta"}, "no"},
           {{"gamma"}, hostile_answer(hostile_port)},
           {{"alpha"}, "yes alpha"},
           {{"Asked: beta"}, "yes beta"}}) {
    v1 = p.repo.git({"rev-parse", "HEAD"});
    v1.pop_back();
    std::string toml = p.repo.read("prompts/ask.toml");
    toml.replace(toml.find("Q: {{q}}"), 8, "Asked: {{q}}");
    p.repo.write("prompts/ask.toml", toml);
    v2 = p.repo.commit("ask: rephrase the question");
    REQUIRE(run_promptops(p.repo.path(), {"alias", "set", "ask", "production", v1}).exit_code == 0);
    for (const std::string& rev : {v1, v2}) {
      const RunResult evaluated = run_promptops(p.repo.path(), {"eval", rev});
      INFO(evaluated.err);
      REQUIRE(evaluated.exit_code == 0);
    }
    REQUIRE(p.server.requests() == 6);
    p.server.reset_counters();
  }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The first of Debian's Chromium binaries on PATH, or "" when none is installed.
std::string chromium_binary() {
  for (const char* name : {"chromium", "chromium-headless-shell"}) {
    if (run(std::filesystem::current_path(), {"sh", "-c", std::string("command -v ") + name}).exit_code == 0) {
      return name;
    }
  }
  return "";
}

// Chromium headless on `page` with `action` ("--dump-dom" or "--screenshot=PATH"), its own profile
// under `profile`, at most 90 s.
RunResult chromium(const std::string& binary, const std::filesystem::path& profile, const std::string& action,
                   const std::filesystem::path& page) {
  return run(profile, {"timeout", "90", binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                       "--disable-background-networking", "--disable-component-update", "--disable-sync",
                       "--user-data-dir=" + profile.string(), "--window-size=1280,1600", action,
                       "file://" + page.string()});
}

}  // namespace

TEST_CASE("report writes the page from the cache and notes, with no model call", "[e2e][report]") {
  LeakListener leak;
  ReportRepo r(leak.port());
  const std::filesystem::path page = r.p.repo.path() / "r.html";
  const RunResult result = run_promptops(r.p.repo.path(), {"report", "-o", page.string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.empty());
  CHECK(result.err.empty());
  CHECK(r.p.server.requests() == 0);
  const std::string html = read_text(page);

  SECTION("the trend, the columns and the cases") {
    CHECK(html.rfind("<!DOCTYPE html>\n", 0) == 0);
    CHECK(contains(html, "<section class=\"prompt\" data-prompt=\"ask\">"));
    CHECK(contains(html, "<g class=\"point\" data-version=\"v1\" data-value=\"0.667\">"));
    CHECK(contains(html, "<g class=\"point\" data-version=\"v2\" data-value=\"1.000\">"));
    CHECK(contains(html, "fill=\"#8250df\">production</text>"));
    CHECK(contains(html, "<td class=\"num\">2/3</td>"));
    CHECK(contains(html, "<td class=\"num\">3/3</td>"));
    CHECK(contains(html, "<td class=\"num\">+0.333</td>"));
    CHECK(contains(html, "★ best"));
    CHECK(contains(html, "git promptops eval " + short_sha(r.v2) + " -- ask"));
    CHECK(contains(html, "<tr class=\"case\" data-id=\"beta\" data-outcomes=\"fp\">"));
    CHECK(contains(html, "the flipped one"));
    CHECK(contains(html, "<p>fail → pass (1): <code>beta</code></p>"));
    CHECK(contains(html, "<del>&quot;Q:</del><ins>&quot;Asked:</ins>"));
    CHECK(contains(html, "output does not contain &quot;yes&quot;"));
  }
  SECTION("a model's markup is text, and the page names nothing to load") {
    CHECK(contains(html, "yes &lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=&quot;"));
    CHECK_FALSE(contains(html, "<script>document.title"));
    CHECK_FALSE(contains(html, "<img"));
    CHECK_FALSE(contains(html, "src=\""));
    CHECK_FALSE(contains(html, "href=\""));
    CHECK(contains(html, "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"));
  }
  SECTION("without -o the page goes to stdout") {
    const RunResult out = run_promptops(r.p.repo.path(), {"report"});
    REQUIRE(out.exit_code == 0);
    CHECK(out.out == html);
  }
}

TEST_CASE("report shows an evaluation nobody ran as not evaluated, and says how to run it", "[e2e][report]") {
  LeakListener leak;
  ReportRepo r(leak.port());
  r.p.repo.write("README.md", "# ask\n");
  const std::string v3 = r.p.repo.commit("add a readme");
  std::string toml = r.p.repo.read("prompts/ask.toml");
  toml.replace(toml.find("Asked: {{q}}"), 12, "Question: {{q}}");
  r.p.repo.write("prompts/ask.toml", toml);
  const std::string v4 = r.p.repo.commit("ask: say question");
  const RunResult result = run_promptops(r.p.repo.path(), {"report", "-o", "r.html"});
  REQUIRE(result.exit_code == 0);
  CHECK(r.p.server.requests() == 0);
  CHECK(result.err ==
        "git-promptops: warning: 1 evaluation is neither cached nor noted and shows as not evaluated; "
        "git promptops eval HEAD records it\n");
  const std::string html = r.p.repo.read("r.html");
  CHECK(contains(html, "not evaluated: run git promptops eval " + short_sha(v4) + " -- ask"));
  CHECK(contains(html, "data-version=\"v2\" data-value=\"1.000\""));  // the readme commit: v2 again
}

TEST_CASE("eval --format html and -o FILE.html write the same page", "[e2e][report]") {
  LeakListener leak;
  ReportRepo r(leak.port());
  const RunResult printed = run_promptops(r.p.repo.path(), {"eval", "HEAD", "--format", "html", "-o", "e.html"});
  INFO(printed.err);
  REQUIRE(printed.exit_code == 0);
  CHECK(r.p.server.requests() == 0);
  CHECK(printed.out == r.p.repo.read("e.html"));
  CHECK(contains(printed.out, "<h1>git-promptops eval</h1>"));
  CHECK(contains(printed.out, "Made by <code>git promptops eval HEAD</code>"));
  CHECK(contains(printed.out, "data-version=\"v2\" data-value=\"1.000\""));
  CHECK(contains(printed.out, "<tr class=\"case\" data-id=\"beta\" data-outcomes=\"p\">"));
}

TEST_CASE("headless Chromium renders the report from file:// without a request", "[e2e][report][chromium]") {
  const std::string binary = chromium_binary();
  if (binary.empty()) {
    WARN("Chromium is not installed (apt-get install chromium): the browser check of the report did not run");
    return;
  }
  LeakListener leak;
  ReportRepo r(leak.port());
  const std::filesystem::path page = r.p.repo.path() / "report.html";
  REQUIRE(run_promptops(r.p.repo.path(), {"report", "-o", page.string()}).exit_code == 0);
  TempDir profile;

  const RunResult dom = chromium(binary, profile.path(), "--dump-dom", page);
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  // The script ran (it shows the filter controls), the model's script did not (the title is ours),
  // and the figures and cases are in the document.
  CHECK(contains(dom.out, "<title>git-promptops report</title>"));
  CHECK(contains(dom.out, "<div class=\"controls\">show <button data-show=\"all\">"));
  CHECK(contains(dom.out, "data-value=\"0.667\""));
  CHECK(contains(dom.out, "data-value=\"1.000\""));
  CHECK(contains(dom.out, "data-id=\"gamma\""));
  CHECK(contains(dom.out, "yes &lt;script&gt;document.title='pwned'&lt;/script&gt;"));
  CHECK_FALSE(contains(dom.out, "<img"));

  const std::filesystem::path artifacts = std::filesystem::current_path() / "artifacts";
  std::filesystem::create_directories(artifacts);
  const std::filesystem::path screenshot = artifacts / "report.png";
  std::filesystem::remove(screenshot);
  const RunResult shot = chromium(binary, profile.path(), "--screenshot=" + screenshot.string(), page);
  INFO(shot.err);
  REQUIRE(shot.exit_code == 0);
  CHECK(read_text(screenshot).substr(0, 8) == "\x89PNG\r\n\x1a\n");
  CHECK(leak.connections() == 0);
}
