// SPDX-License-Identifier: MIT
// The identity for new tags and commits with git's precedence (libgit2 1.5 ignores the environment).
#include <cstdlib>
#include <ctime>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

// The variable's value, or nullopt when it is unset or empty.
std::optional<std::string> env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

// The config value, or nullopt when it is not set.
std::optional<std::string> config_value(const git_config& config, const char* name) {
  git_config_entry* raw = nullptr;
  if (git_config_get_entry(&raw, &config, name) != 0) {
    return std::nullopt;
  }
  const Handle<git_config_entry, git_config_entry_free> entry(raw);
  if (entry->value == nullptr) {
    return std::nullopt;
  }
  return std::string(entry->value);
}

// git's ident.c crud(): characters trimmed from both ends of a name or email.
bool is_crud(unsigned char c) {
  return c <= 32 || c == ',' || c == ':' || c == ';' || c == '<' || c == '>' || c == '"' || c == '\\' ||
         c == '\'';
}

// As git's strbuf_addstr_without_crud: trims crud, then drops '<', '>' and newlines.
std::string without_crud(std::string_view text) {
  while (!text.empty() && is_crud(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_crud(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string out;
  for (const char c : text) {
    if (c != '\n' && c != '<' && c != '>') {
      out.push_back(c);
    }
  }
  return out;
}

// Minutes east of UTC of local time at `t`.
int local_offset_minutes(std::time_t t) {
  std::tm local{};
  if (::localtime_r(&t, &local) == nullptr) {
    return 0;
  }
  return static_cast<int>(local.tm_gmtoff / 60);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// A left-to-right reader for the date formats below.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : m_text(text) {}

  bool done() const { return m_text.empty(); }
  bool peek(char c) const { return !m_text.empty() && m_text.front() == c; }
  bool eat(char c) {
    if (!peek(c)) {
      return false;
    }
    m_text.remove_prefix(1);
    return true;
  }
  void skip_spaces() {
    while (peek(' ') || peek('\t')) {
      m_text.remove_prefix(1);
    }
  }
  // Between `min` and `max` decimal digits.
  std::optional<std::int64_t> number(std::size_t min, std::size_t max) {
    std::size_t n = 0;
    std::int64_t value = 0;
    while (n < max && n < m_text.size() && m_text[n] >= '0' && m_text[n] <= '9') {
      value = value * 10 + (m_text[n] - '0');
      ++n;
    }
    if (n < min) {
      return std::nullopt;
    }
    m_text.remove_prefix(n);
    return value;
  }
  std::string_view word() {
    std::size_t n = 0;
    while (n < m_text.size() &&
           ((m_text[n] >= 'a' && m_text[n] <= 'z') || (m_text[n] >= 'A' && m_text[n] <= 'Z'))) {
      ++n;
    }
    const std::string_view out = m_text.substr(0, n);
    m_text.remove_prefix(n);
    return out;
  }

 private:
  std::string_view m_text;
};

struct Moment {
  std::int64_t time = 0;
  int offset_minutes = 0;
};

// "+hhmm", "-hh:mm", "+hh" or "Z"; nullopt when malformed.
std::optional<int> parse_zone(Cursor& in) {
  if (in.eat('Z') || in.eat('z')) {
    return 0;
  }
  int sign = 0;
  if (in.eat('+')) {
    sign = 1;
  } else if (in.eat('-')) {
    sign = -1;
  } else {
    return std::nullopt;
  }
  const auto hours = in.number(2, 2);
  if (!hours) {
    return std::nullopt;
  }
  std::int64_t minutes = 0;
  const bool colon = in.eat(':');
  if (const auto mm = in.number(2, 2)) {
    minutes = *mm;
  } else if (colon) {
    return std::nullopt;
  }
  if (*hours > 14 || minutes > 59) {
    return std::nullopt;
  }
  return sign * static_cast<int>(*hours * 60 + minutes);
}

// Seconds since the epoch of a UTC calendar time; nullopt when a field is out of range.
std::optional<std::int64_t> civil_seconds(std::int64_t year, std::int64_t month, std::int64_t day,
                                          std::int64_t hour, std::int64_t minute, std::int64_t second) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hour * 3600 + minute * 60 + second;
}

// Interprets a zone-less calendar time as local time, as git does.
Moment from_local(std::int64_t as_utc) {
  const int guess = local_offset_minutes(static_cast<std::time_t>(as_utc));
  const std::int64_t time = as_utc - static_cast<std::int64_t>(guess) * 60;
  return {time, local_offset_minutes(static_cast<std::time_t>(time))};
}

// git's raw format: "[@]<epoch>[ <+hhmm>]".
std::optional<Moment> parse_raw(std::string_view text) {
  Cursor in(text);
  in.eat('@');
  const auto epoch = in.number(1, 18);
  if (!epoch) {
    return std::nullopt;
  }
  in.skip_spaces();
  int offset = 0;
  if (!in.done()) {
    const auto zone = parse_zone(in);
    if (!zone) {
      return std::nullopt;
    }
    offset = *zone;
  }
  in.skip_spaces();
  if (!in.done()) {
    return std::nullopt;
  }
  return Moment{*epoch, offset};
}

// ISO 8601: "YYYY-MM-DD[T ]HH:MM[:SS][.frac][ ][Z|+hh[:mm]]"; local time without a zone.
std::optional<Moment> parse_iso(std::string_view text) {
  Cursor in(text);
  const auto year = in.number(4, 4);
  if (!year || !in.eat('-')) {
    return std::nullopt;
  }
  const auto month = in.number(2, 2);
  if (!month || !in.eat('-')) {
    return std::nullopt;
  }
  const auto day = in.number(2, 2);
  if (!day || !(in.eat('T') || in.eat('t') || in.eat(' '))) {
    return std::nullopt;
  }
  const auto hour = in.number(2, 2);
  if (!hour || !in.eat(':')) {
    return std::nullopt;
  }
  const auto minute = in.number(2, 2);
  if (!minute) {
    return std::nullopt;
  }
  std::int64_t second = 0;
  if (in.eat(':')) {
    const auto ss = in.number(2, 2);
    if (!ss) {
      return std::nullopt;
    }
    second = *ss;
    if (in.eat('.') && !in.number(1, 9)) {
      return std::nullopt;
    }
  }
  const auto seconds = civil_seconds(*year, *month, *day, *hour, *minute, second);
  if (!seconds) {
    return std::nullopt;
  }
  in.skip_spaces();
  if (in.done()) {
    return from_local(*seconds);
  }
  const auto zone = parse_zone(in);
  in.skip_spaces();
  if (!zone || !in.done()) {
    return std::nullopt;
  }
  return Moment{*seconds - static_cast<std::int64_t>(*zone) * 60, *zone};
}

// RFC 2822, as `git log --date=rfc` prints: "[Thu, ]07 Apr 2005 22:13:13 +0200".
std::optional<Moment> parse_rfc2822(std::string_view text) {
  static constexpr std::string_view k_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  Cursor in(text);
  if (!in.word().empty() && !in.eat(',')) {
    return std::nullopt;
  }
  in.skip_spaces();
  const auto day = in.number(1, 2);
  in.skip_spaces();
  std::string month_name(in.word());
  for (char& c : month_name) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  std::int64_t month = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    if (month_name == k_months[i]) {
      month = static_cast<std::int64_t>(i) + 1;
    }
  }
  in.skip_spaces();
  const auto year = in.number(4, 4);
  in.skip_spaces();
  const auto hour = in.number(1, 2);
  if (!day || month == 0 || !year || !hour || !in.eat(':')) {
    return std::nullopt;
  }
  const auto minute = in.number(2, 2);
  if (!minute) {
    return std::nullopt;
  }
  std::int64_t second = 0;
  if (in.eat(':')) {
    const auto ss = in.number(2, 2);
    if (!ss) {
      return std::nullopt;
    }
    second = *ss;
  }
  in.skip_spaces();
  const auto zone = parse_zone(in);
  in.skip_spaces();
  const auto seconds = civil_seconds(*year, month, *day, *hour, *minute, second);
  if (!zone || !in.done() || !seconds) {
    return std::nullopt;
  }
  return Moment{*seconds - static_cast<std::int64_t>(*zone) * 60, *zone};
}

Moment now() {
  const std::time_t t = std::time(nullptr);
  return {static_cast<std::int64_t>(t), local_offset_minutes(t)};
}

// GIT_AUTHOR_DATE / GIT_COMMITTER_DATE in git's raw, ISO 8601 or RFC 2822 form; else now.
Moment date_from(const std::optional<std::string>& text) {
  if (!text) {
    return now();
  }
  std::string_view trimmed = *text;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t' || trimmed.back() == '\n')) {
    trimmed.remove_suffix(1);
  }
  if (auto moment = parse_raw(trimmed)) {
    return *moment;
  }
  if (auto moment = parse_iso(trimmed)) {
    return *moment;
  }
  if (auto moment = parse_rfc2822(trimmed)) {
    return *moment;
  }
  return now();
}

}  // namespace

Person Repository::signature(bool committer) const {
  const std::string role = committer ? "committer" : "author";
  const std::string env_prefix = committer ? "GIT_COMMITTER_" : "GIT_AUTHOR_";

  git_config* raw = nullptr;
  check(git_repository_config_snapshot(&raw, m_impl->repo.get()), "reading the git config");
  const ConfigHandle config(raw);

  // git: the environment, then <role>.name / <role>.email, then user.*, then EMAIL.
  std::optional<std::string> name = env(env_prefix + "NAME");
  if (!name) {
    name = config_value(*config, (role + ".name").c_str());
  }
  if (!name) {
    name = config_value(*config, "user.name");
  }
  std::optional<std::string> email = env(env_prefix + "EMAIL");
  if (!email) {
    email = config_value(*config, (role + ".email").c_str());
  }
  if (!email) {
    email = config_value(*config, "user.email");
  }
  if (!email) {
    email = env("EMAIL");
  }

  Person out;
  out.name = name ? without_crud(*name) : std::string();
  out.email = email ? without_crud(*email) : std::string();
  if (out.name.empty() || out.email.empty()) {
    throw GitError(role + " identity unknown",
                   "tell git who you are: git config --global user.email \"you@example.com\" && "
                   "git config --global user.name \"Your Name\"");
  }
  const Moment moment = date_from(env(env_prefix + "DATE"));
  out.time = moment.time;
  out.offset_minutes = moment.offset_minutes;
  return out;
}

std::optional<bool> Repository::config_bool(const std::string& name) const {
  git_config* raw = nullptr;
  check(git_repository_config_snapshot(&raw, m_impl->repo.get()), "reading the git config");
  const ConfigHandle config(raw);
  const std::optional<std::string> text = config_value(*config, name.c_str());
  int value = 0;
  if (!text || git_config_parse_bool(&value, text->c_str()) != 0) {
    return std::nullopt;
  }
  return value != 0;
}

}  // namespace promptops::git

namespace promptops::git {

std::optional<std::string> Repository::config_string(const std::string& name) const {
  git_config* raw = nullptr;
  check(git_repository_config_snapshot(&raw, m_impl->repo.get()), "reading the git config");
  const ConfigHandle config(raw);
  return git::config_value(*config, name.c_str());
}

std::vector<std::string> Repository::config_strings(const std::string& name) const {
  git_config* raw = nullptr;
  check(git_repository_config_snapshot(&raw, m_impl->repo.get()), "reading the git config");
  const ConfigHandle config(raw);
  git_config_iterator* iterator_raw = nullptr;
  std::vector<std::string> values;
  const int rc = git_config_multivar_iterator_new(&iterator_raw, config.get(), name.c_str(), nullptr);
  if (rc == GIT_ENOTFOUND) {
    return values;
  }
  check(rc, "reading the git config");
  const Handle<git_config_iterator, git_config_iterator_free> iterator(iterator_raw);
  git_config_entry* entry = nullptr;  // owned by the iterator
  while (git_config_next(&entry, iterator.get()) == 0) {
    const std::string value = entry->value != nullptr ? entry->value : "";
    if (value.empty()) {
      values.clear();
    } else {
      values.push_back(value);
    }
  }
  return values;
}

}  // namespace promptops::git
