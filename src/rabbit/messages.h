// The messages that travel through the broker, encoded as MessagePack. Paths are raw bytes
// (MessagePack bin), never assumed UTF-8.
//
//   task:   {v, run, spec, task: {kind, id, dir, names, new}}      on <prefix>.dir / <prefix>.files
//   report: {v, run, done: [[id, counters, failures]...], children}  on <prefix>.reports.<run>
//   refusal notice: {v, run, refused_by, reason}                    on <prefix>.reports.<run>
//
// Counters travel per task id, not per report: when a redelivered task runs again, its report may
// carry descendants that already reported on their own, and only the first report of an id counts.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/task.h"

namespace lmover {

struct TaskMessage {
  std::string run;
  nlohmann::json spec;
  Task task;
};

// What one task did: its counters (only the non-zero ones travel) and failed entries.
struct TaskResult {
  uint64_t id = 0;
  nlohmann::json counters = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> failures;  // (raw path, message)
};

struct ReportMessage {
  std::string run;
  // The delivered task first, then its descendants the worker ran itself (never published).
  std::vector<TaskResult> done;
  std::vector<uint64_t> children;  // the tasks it published
  // A refusal notice instead: the worker `refused_by` (host:pid) ran nothing of this run, for
  // `reason`, and handed the task back.
  std::string refused_by, reason;

  bool is_refusal() const { return !refused_by.empty(); }
};

// Raw bytes (paths) as MessagePack bin and back; from_bytes throws std::invalid_argument.
nlohmann::json to_bytes(const std::string& raw);
std::string from_bytes(const nlohmann::json& j);

std::string encode(const TaskMessage& message);
std::string encode(const ReportMessage& message);
// Both throw std::invalid_argument on anything that is not a well-formed message of ours.
TaskMessage decode_task(const std::string& body);
ReportMessage decode_report(const std::string& body);

struct QueueNames {
  std::string prefix;
  std::string dirs() const { return prefix + ".dir"; }
  std::string files() const { return prefix + ".files"; }
  std::string dead_letters() const { return prefix + ".dead"; }
  std::string reports(const std::string& run) const { return prefix + ".reports." + run; }
  std::string control() const { return prefix + ".control"; }
  // Directory tasks and batches travel apart, so walking never waits behind copying.
  std::string for_task(const Task& t) const { return t.kind == TaskKind::kDirectory ? dirs() : files(); }
};

}  // namespace lmover
