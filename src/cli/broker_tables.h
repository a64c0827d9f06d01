// What `lmover status` and `lmover control` print for a person: tables, one row per run or per
// worker, numbers aligned; `--json` prints the same as JSON for scripts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover {

// The runs of a prefix (Submitter::list_runs).
std::string runs_table(const std::vector<nlohmann::json>& runs);
// One run (Submitter::status): what it is, its tasks, and its counters that are not 0.
std::string run_table(const nlohmann::json& status);
// The workers' answers to `lmover control`; with `tasks` (control active), each one's tasks in hand.
std::string workers_table(const std::vector<nlohmann::json>& answers, bool tasks);
// "3 of 4 workers answered (1 did not within 2 s)", or without a count known "3 workers answered".
std::string answered_line(size_t answered, std::optional<uint32_t> connected, double wait_s);

}  // namespace lmover
