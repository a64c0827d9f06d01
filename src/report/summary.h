// Summary: what a run did, pass by pass, as one JSON document (--json FILE) and as a few lines on
// stderr for humans.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover {

struct PassStats;

class Summary {
 public:
  // The summary's layout: raised when a key changes meaning or goes (new keys do not raise it).
  static constexpr int kSchemaVersion = 1;

  Summary(std::string command, std::string src, std::string dst, bool dry_run);

  // `details`: more fields for the pass's JSON object (a distributed run's id, refusing workers).
  void add_pass(const std::string& pass, const PassStats& stats, double seconds,
                const nlohmann::json& details = nlohmann::json::object());
  void set_fatal(const std::string& message) { fatal_ = message; }
  void set_exit_code(int code) { exit_code_ = code; }
  // The run was stopped by `signal_name` ("SIGTERM") before it was complete.
  void set_interrupted(const std::string& signal_name) { interrupted_ = signal_name; }
  // A run-wide fact for --json (what this run could not keep, lines of a list that selected
  // nothing): `key` at the top of the document.
  void set(const std::string& key, nlohmann::json value) { extra_[key] = std::move(value); }

  void print_human() const;
  // Throws FsError naming the file when it cannot be written.
  void write_json(const std::string& file) const;
  // The end of a command: the exit code set, the summary printed, and written to `json_file`
  // (if any). Returns false, having said why, when the file could not be written.
  bool finish(int exit_code, const std::string& json_file);
  nlohmann::json to_json() const;

 private:
  std::string command_, src_, dst_;
  bool dry_run_;
  nlohmann::json passes_ = nlohmann::json::array();
  std::string fatal_;
  std::string interrupted_;
  nlohmann::json extra_ = nlohmann::json::object();
  int exit_code_ = 0;
  std::time_t started_, ended_ = 0;
};

}  // namespace lmover
