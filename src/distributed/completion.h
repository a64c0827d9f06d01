// CompletionTracker: exact completion of a distributed pass, counted in tasks, never guessed from
// queue depths, in memory bounded by the work in flight rather than by the tasks ever run.
//
// Tasks form a tree: the root task, and the children each task created (published or run
// inline). Each report names the task, its lineage (its ancestors' ids, root first) and its
// children's ids. The tracker holds only the *open* part of that tree:
//   - an announced task not yet reported (pending);
//   - a reported task with at least one child still open;
//   - a task whose report overtook its parent's (early), kept until the parent reports.
// A task is *complete* when it has reported and every child it announced is complete; a complete
// task whose parent has reported is forgotten, and its parent's count of open children drops.
// The pass is complete when the root is.
//
// Why this is exact, and why forgetting is safe:
//   1. Under a parent that has reported, the children are exactly those of its first report, so a
//      child id that is not held there is complete (it was held and then forgotten) or was never
//      announced (a re-run of the parent that saw a changed directory). Either way a report under
//      it changes nothing: it is a duplicate, counted zero times. This is the only place the tracker
//      decides "seen before" without remembering, and the parent's open node makes it sound.
//   2. Under a parent that has not reported yet, nothing is forgotten: early children (complete
//      or not) and the lineage leading to them are held, so when the parent's report arrives its
//      announced children are matched against them, and early ones it does not announce (a
//      different listing) are dropped with their subtrees.
//   3. The root is complete only if it reported and each child it announced is complete, which by
//      induction is: every task reachable from the root through first reports has reported. That
//      is the definition of a finished pass, whatever the order or multiplicity of reports.
// Children are keyed by (parent id, id), so 64-bit id collisions matter only between siblings.
// Memory: each held node is one of the three kinds above; pending tasks are queued in the broker
// or running, reported-open ones are their ancestors, early ones are reports in flight. A node
// costs 40 bytes plus about 16 in an open-addressing index (bench/tracker_sim measures both).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmover {

class CompletionTracker {
 public:
  explicit CompletionTracker(uint64_t root_id);

  // Records a report of task `id`, whose ancestors are `lineage` (root first; empty for the root
  // task itself) and which created `children`. Returns true for the first report of `id` only:
  // count that task's work then, and only then.
  bool report(std::span<const uint64_t> lineage, uint64_t id, std::span<const uint64_t> children);

  bool complete() const { return root_complete_; }
  uint64_t done() const { return done_; }        // tasks that have reported (first reports)
  size_t pending() const { return pending_; }    // tasks known and not yet reported
  size_t held() const { return indexed_; }  // nodes in memory: the frontier and its ancestors
  size_t memory_bytes() const;                   // an estimate of the heap in use

  // A checkpoint in O(held) bytes, so a restarted submitter picks up exactly where this one was.
  std::string save() const;
  // Throws std::invalid_argument on anything save() did not write.
  static CompletionTracker load(const std::string& bytes);

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Node {
    uint64_t id = 0;
    uint64_t parent_id = 0;  // with id, the node's key
    uint32_t parent = kNone;
    uint32_t first_kid = kNone, prev = kNone, next = kNone;  // held children, as a list
    uint32_t open_kids = 0;                                   // once reported: children not complete
    bool reported = false;
    bool complete = false;  // only held while the parent has not reported
    bool matched = false;   // scratch, while a report announces children
  };
  CompletionTracker() = default;
  uint32_t find(uint32_t parent, uint64_t id) const;
  uint32_t make(uint32_t parent, uint64_t id);
  void forget(uint32_t n);  // with its subtree
  // The node of the task whose ancestors are `lineage` lives under: kNone when that place is
  // covered (an ancestor is complete, or was never announced by its parent's first report).
  uint32_t parent_node(std::span<const uint64_t> lineage);
  void announce(uint32_t n, std::span<const uint64_t> children);
  void settle(uint32_t n);  // propagates completion upwards from n

  // The index: node numbers by (parent id, id), linear probing, deletion by backward shift (no
  // tombstones, so a long run's churn never degrades it).
  size_t slot_of(uint64_t parent_id, uint64_t id) const;  // where the key is, or the empty slot to put it
  void index_insert(uint32_t n);
  void index_erase(uint32_t n);
  void index_resize(size_t slots);

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  struct Slot {
    uint32_t hash = 0;  // low bits of the key's hash: the home slot, and a cheap first compare
    uint32_t node = kNone;
  };
  std::vector<Slot> slots_;
  size_t indexed_ = 0;
  uint64_t done_ = 0;
  size_t pending_ = 0;
  bool root_complete_ = false;
};

}  // namespace lmover
