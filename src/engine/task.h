// Task: the unit of work that engines move and passes execute. Engines never look inside.
//
// A directory task lists one directory and emits children; a batch task handles up to
// kMaxBatch non-directory entries of one directory; a chunk task copies (or verifies) one byte
// range of a big file; a places task carries places a changelog names (passes/changed_places.h),
// encoded in `names` by the pass that made it, for that pass alone to expand. Paths are raw bytes relative to the pass roots, never assumed UTF-8. Ids are
// derived from the parent id and the child's own key, so a re-executed parent (a redelivered
// message, a restarted worker) announces exactly the same child ids again: this is what lets the
// distributed engine count completion exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lmover {

enum class TaskKind : uint8_t { kDirectory = 1, kBatch = 2, kChunk = 3, kPlaces = 4 };

inline constexpr size_t kMaxBatch = 1000;

// Something a pass hands from a task to a child that runs in the same process (open directory
// descriptors, so that the child does not resolve its path again). Engines carry it with the task
// and never look inside; it is dropped when a task is serialized, and passes must be correct
// without it.
struct TaskAttachment {
  virtual ~TaskAttachment() = default;
};

struct Task {
  TaskKind kind = TaskKind::kDirectory;
  uint64_t id = 0;
  std::string dir;                 // the directory, relative to the roots ("" = root)
  std::vector<std::string> names;  // batch: entry names inside `dir`
  // A hint from the pass to itself: the target directory was created by this very pass, so its
  // entries need not be looked up on the target. Receivers must stay correct if it is stale.
  bool target_is_new = false;
  // The task covers its own directory's entries (or its batch's names) and no deeper: a
  // subdirectory that exists on both sides is settled but not descended; one made by this task is
  // walked whole. What a changelog-driven pass (passes/changed_places.h) visits: every changed
  // entry and directory is a place of its own. Batches inherit it; a child directory never has it.
  bool shallow = false;
  // chunk: bytes [offset, offset + length) of file names[0], written into names[1] (its part
  // file on the target), piece `index` of them all.
  uint64_t offset = 0, length = 0;
  uint32_t index = 0;
  std::shared_ptr<TaskAttachment> attachment;  // see TaskAttachment; never inherited by children

  static Task root();
  Task child_directory(std::string rel, bool new_target = false) const;
  // One piece of a big file: see the chunk fields above.
  Task child_chunk(std::string in_dir, std::string name, std::string part, uint32_t index, uint64_t offset,
                   uint64_t length) const;
  // Batches inherit target_is_new and shallow from their directory task.
  Task child_batch(std::string in_dir, std::vector<std::string> entry_names) const;
  // Places (encoded by their pass) that travel as one task, known by `key`.
  Task child_places(std::string_view key, std::vector<std::string> places) const;
};

uint64_t derive_task_id(uint64_t parent, TaskKind kind, std::string_view key);
// "dir", "batch", "chunk", "places": for what a worker shows of its tasks.
const char* task_kind_name(TaskKind kind);

// Where a running task puts the tasks it spawns. Thread-safe.
class TaskSink {
 public:
  virtual ~TaskSink() = default;
  virtual void submit(Task task) = 0;
};

// What a pass gives an engine: how to run one task. Must be safe to call from many threads at
// once, and must not throw: a failing entry is the pass's to record, not the engine's.
class TaskHandler {
 public:
  virtual ~TaskHandler() = default;
  virtual void handle(const Task& task, TaskSink& sink) = 0;
};

}  // namespace lmover
