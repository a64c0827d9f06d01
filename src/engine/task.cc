#include "engine/task.h"

#include <xxhash.h>

namespace lmover {

uint64_t derive_task_id(uint64_t parent, TaskKind kind, std::string_view key) {
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, parent);
  auto k = static_cast<uint8_t>(kind);
  XXH64_update(state, &k, 1);
  XXH64_update(state, key.data(), key.size());
  uint64_t id = XXH64_digest(state);
  XXH64_freeState(state);
  return id;
}

const char* task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kDirectory: return "dir";
    case TaskKind::kBatch: return "batch";
    case TaskKind::kChunk: return "chunk";
    case TaskKind::kPlaces: return "places";
  }
  return "?";
}

Task Task::root() {
  Task t;
  t.kind = TaskKind::kDirectory;
  t.id = derive_task_id(0, TaskKind::kDirectory, "");
  return t;
}

Task Task::child_directory(std::string rel, bool new_target) const {
  Task t;
  t.kind = TaskKind::kDirectory;
  t.target_is_new = new_target;
  t.id = derive_task_id(id, TaskKind::kDirectory, rel);
  t.dir = std::move(rel);
  return t;
}

Task Task::child_chunk(std::string in_dir, std::string name, std::string part, uint32_t piece, uint64_t off,
                       uint64_t len) const {
  Task t;
  t.kind = TaskKind::kChunk;
  t.id = derive_task_id(id, TaskKind::kChunk, name + "@" + std::to_string(off));
  t.dir = std::move(in_dir);
  t.names = {std::move(name), std::move(part)};
  t.index = piece;
  t.offset = off;
  t.length = len;
  return t;
}

Task Task::child_batch(std::string in_dir, std::vector<std::string> entry_names) const {
  Task t;
  t.kind = TaskKind::kBatch;
  // A batch is known by its first entry: listing order is stable while the directory is unchanged.
  t.id = derive_task_id(id, TaskKind::kBatch, entry_names.empty() ? std::string_view() : entry_names.front());
  t.dir = std::move(in_dir);
  t.names = std::move(entry_names);
  t.target_is_new = target_is_new;
  t.shallow = shallow;
  return t;
}

Task Task::child_places(std::string_view key, std::vector<std::string> places) const {
  Task t;
  t.kind = TaskKind::kPlaces;
  t.id = derive_task_id(id, TaskKind::kPlaces, key);
  t.names = std::move(places);
  return t;
}

}  // namespace lmover
