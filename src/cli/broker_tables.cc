#include "cli/broker_tables.h"

#include <ctime>

#include <fmt/format.h>

namespace lmover {
namespace {

using json = nlohmann::json;

std::string local_time(int64_t epoch) {
  std::time_t t = epoch;
  char when[32] = "?";
  if (epoch > 0) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return when;
}

std::string duration(double seconds) {
  auto s = static_cast<uint64_t>(seconds);
  if (s >= 86400) return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

std::string runs_table(const std::vector<json>& runs) {
  std::string out = fmt::format("{:<16}  {:<7}  {:<9}  {:<19}  {:>9}  {:>11}  {}\n", "RUN", "PASS", "STATE", "STARTED",
                                "PENDING", "DONE", "SRC -> DST");
  for (const json& r : runs) {
    out += fmt::format("{:<16}  {:<7}  {:<9}  {:<19}  {:>9}  {:>11}  {} -> {}\n", r.value("run", "?"), r.value("pass", "?"),
                       r.value("state", "running"), local_time(r.value("started", int64_t(0))),
                       r.value("tasks_pending", uint64_t(0)), r.value("tasks_done", uint64_t(0)), r.value("src", "?"),
                       r.value("dst", "?"));
  }
  return out;
}

std::string run_table(const json& status) {
  std::string out;
  auto row = [&out](const std::string& key, const std::string& value) { out += fmt::format("{:<20}  {}\n", key, value); };
  row("run", status.value("run", "?"));
  row("pass", status.value("pass", "?"));
  row("src", status.value("src", "?"));
  row("dst", status.value("dst", "?"));
  row("state", status.value("state", "running"));
  if (int64_t ended = status.value("ended", int64_t(0)); ended > 0) row("ended", local_time(ended));
  row("tasks pending", std::to_string(status.value("tasks_pending", uint64_t(0))));
  row("tasks done", std::to_string(status.value("tasks_done", uint64_t(0))));
  // Held in locals: a range-for over items() of a temporary would read a destroyed json.
  const json counters = status.value("counters", json::object()), refusals = status.value("refused_by", json::object());
  for (const auto& [name, value] : counters.items()) row(name, value.dump());
  for (const auto& [worker, why] : refusals.items()) {
    row("refused by " + worker, why.is_string() ? why.get<std::string>() : why.dump());
  }
  return out;
}

std::string workers_table(const std::vector<json>& answers, bool tasks) {
  std::string out = fmt::format("{:<28}  {:<7}  {:>7}  {:<6}  {:>6}  {:>10}  {:>11}  {:>7}  {}\n", "WORKER", "VERSION",
                                "THREADS", "PAUSED", "ACTIVE", "TASKS DONE", "REDELIVERED", "UPTIME", "ERROR");
  for (const json& a : answers) {
    std::string version = a.value("version", "?");
    if (version.rfind("lmover ", 0) == 0) version = version.substr(7, version.find(' ', 7) - 7);  // "0.9.0"
    out += fmt::format("{:<28}  {:<7}  {:>7}  {:<6}  {:>6}  {:>10}  {:>11}  {:>7}  {}\n", a.value("worker", "?"), version,
                       a.value("threads", 0u), a.value("paused", false) ? "yes" : "no", a.value("active", 0u),
                       a.value("tasks_done", uint64_t(0)), a.value("redelivered", uint64_t(0)),
                       duration(a.value("uptime_s", 0.0)), a.value("error", ""));
    if (!tasks) continue;
    const json in_hand = a.value("tasks", json::array());
    for (const json& t : in_hand) {
      out += fmt::format("    thread {:>3}  {:<9}  {:>8} entries  {:>8}  {}\n", t.value("thread", 0u), t.value("kind", "?"),
                         t.value("entries", uint64_t(0)), duration(t.value("seconds", 0.0)), t.value("dir", "?"));
    }
  }
  return out;
}

std::string answered_line(size_t answered, std::optional<uint32_t> connected, double wait_s) {
  if (!connected) return fmt::format("{} worker(s) answered", answered);
  if (answered >= *connected) return fmt::format("{} of {} worker(s) answered", answered, *connected);
  return fmt::format("{} of {} worker(s) answered ({} did not within {} s: busy, or cut off from the broker)", answered,
                     *connected, *connected - answered, wait_s);
}

}  // namespace lmover
