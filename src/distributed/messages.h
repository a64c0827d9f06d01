// The messages that travel through the broker, encoded as MessagePack. Paths are raw bytes
// (MessagePack bin), never assumed UTF-8.
//
//   tasks:  {v, run, spec, lineage, tasks: [{kind, id, up, dir, names, new, shallow?}...]}  on <prefix>.dir / .files
//   report: {v, run, lineage, keys, done, failures, linked?}                     on <prefix>.reports.<run>
//   refusal notice: {v, run, refused_by, reason}                                 on <prefix>.reports.<run>
//
// One task message carries a bundle of tasks (a worker's leftovers, split for other workers), and
// one report everything its worker ran for that message: message count follows the work, not the
// number of tasks. Every task names its ancestors (a lineage, shared through a small table) so
// that the submitter's tracker can tell a duplicate from a task it has not heard of yet without
// remembering finished tasks (completion.h). Task ids, children and counters travel as packed
// little-endian binary: a report of ten thousand tasks decodes in microseconds, not milliseconds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/task.h"

namespace lmover {

// A table of lineages: entry i is (index of its parent entry, or kTop, id); the lineage it stands
// for is its parent entry's lineage followed by its own id.
class LineageTable {
 public:
  static constexpr uint32_t kTop = UINT32_MAX;  // as an entry's parent: none; as a task's `up`: the root task

  uint32_t add(uint32_t up, uint64_t id);
  // The ids of entry `index`, root first, into `out` (cleared first); nothing for kTop.
  void lineage(uint32_t index, std::vector<uint64_t>& out) const;
  // Copies entry `index` of `from` (with its ancestors) into this table, once per `memo`.
  uint32_t copy_from(const LineageTable& from, uint32_t index, std::vector<uint32_t>& memo);
  size_t size() const { return entries_.size(); }

  std::string pack() const;
  static LineageTable unpack(const std::string& bytes);  // throws std::invalid_argument

 private:
  std::vector<std::pair<uint32_t, uint64_t>> entries_;
};

struct QueuedTask {
  Task task;
  uint32_t up = LineageTable::kTop;  // the task's parent's entry in the message's lineage table
};

struct TaskMessage {
  std::string run;
  nlohmann::json spec;
  LineageTable lineage;
  std::vector<QueuedTask> tasks;
};

// What one task did. Counters travel by index into the report's key list; only non-zero ones.
struct TaskResult {
  uint32_t up = LineageTable::kTop;
  uint64_t id = 0;
  std::vector<uint64_t> children;  // every child it created, published or run by the same worker
  std::vector<std::pair<uint8_t, uint64_t>> counters;
  std::vector<std::pair<std::string, std::string>> failures;  // (raw path, message)
  std::vector<std::string> linked;  // hard-linked files the task met (TaskOutcome::linked)
};

struct ReportMessage {
  std::string run;
  LineageTable lineage;
  std::vector<std::string> keys;  // counter names
  std::vector<TaskResult> done;   // the delivered tasks, and the descendants run with them
  // A refusal notice instead: the worker `refused_by` (host:pid) ran nothing of this run, for
  // `reason`, and handed the task back.
  std::string refused_by, reason;
  std::string node;  // the reporting worker's host, for per-node statistics ("" from older workers)

  bool is_refusal() const { return !refused_by.empty(); }
  // Adds counters (name, n) to `result`, registering names in `keys`.
  void set_counters(TaskResult& result, const std::vector<std::pair<std::string_view, uint64_t>>& counters);
};

// A JSON document as a MessagePack message body.
std::string pack_msgpack(const nlohmann::json& j);

// Raw bytes (paths) as MessagePack bin and back; from_bytes throws std::invalid_argument.
nlohmann::json to_bytes(const std::string& raw);
std::string from_bytes(const nlohmann::json& j);

std::string encode(const TaskMessage& message);
std::string encode(const ReportMessage& message);
// A message from an lmover that speaks another message version (a node not upgraded with the
// others). What it says: "message version 4 from lmover 1.0.0 (commit ...) on n5 (this lmover:
// version 3, lmover 0.9.0 (commit ...)): every node must run the same lmover".
class OtherVersion : public std::invalid_argument {
 public:
  OtherVersion(const std::string& what, std::string run, std::string sender)
      : std::invalid_argument(what), run(std::move(run)), sender(std::move(sender)) {}
  std::string run;     // the run the message belongs to, if it says
  std::string sender;  // the worker (host:pid) or node that sent it, if it says
};

// Both throw std::invalid_argument on anything that is not a well-formed message of ours
// (OtherVersion when it is one of another version).
TaskMessage decode_task(const std::string& body);
ReportMessage decode_report(const std::string& body);

struct QueueNames {
  std::string prefix;
  std::string dirs() const { return prefix + ".dir"; }
  std::string files() const { return prefix + ".files"; }
  std::string dead_letters() const { return prefix + ".dead"; }
  std::string reports(const std::string& run) const { return prefix + ".reports." + run; }
  std::string control() const { return prefix + ".control"; }
  // Every worker's control connection consumes it (nothing is ever sent there): its consumer
  // count is how many workers are connected, what `lmover control` counts its answers against.
  std::string workers() const { return prefix + ".workers"; }
  // Exists while `lmover control pause` holds the workers (of `node`: a host, host:pid), so that
  // a worker that was away when the pause or resume went out finds the state when it comes back.
  // Exists once `lmover cancel --run` cancelled the run (its submitter stops following it).
  std::string cancelled(const std::string& run) const { return prefix + ".cancelled." + run; }
  std::string paused(const std::string& node = "") const { return prefix + ".paused" + (node.empty() ? "" : "." + node); }
  // Directory tasks (and places, which expand into tasks) and batches travel apart, so walking
  // never waits behind copying.
  std::string for_task(const Task& t) const {
    return t.kind == TaskKind::kDirectory || t.kind == TaskKind::kPlaces ? dirs() : files();
  }
};

}  // namespace lmover
