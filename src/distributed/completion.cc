#include "distributed/completion.h"

#include <cstring>
#include <stdexcept>

#include "distributed/packed.h"

namespace lmover {
namespace {

constexpr char kMagic[4] = {'L', 'M', 'C', '2'};
constexpr uint8_t kReported = 1, kComplete = 2;

}  // namespace

CompletionTracker::CompletionTracker(uint64_t root_id) {
  nodes_.push_back(Node{.id = root_id});
  index_resize(1024);
  index_insert(0);
  pending_ = 1;
}

namespace {
size_t key_hash(uint64_t parent_id, uint64_t id) {
  // Ids are already xxhash digests: a cheap mix of the two is enough.
  uint64_t h = (id ^ ((parent_id << 23) | (parent_id >> 41))) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h ^ (h >> 29));
}
}  // namespace

size_t CompletionTracker::slot_of(uint64_t parent_id, uint64_t id) const {
  size_t mask = slots_.size() - 1;
  uint32_t hash = static_cast<uint32_t>(key_hash(parent_id, id));
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.node == kNone) return i;
    // The stored hash spares a visit to the node (a cache miss) for every other key probed.
    if (slot.hash == hash && nodes_[slot.node].id == id && nodes_[slot.node].parent_id == parent_id) return i;
  }
}

void CompletionTracker::index_insert(uint32_t n) {
  if ((indexed_ + 1) * 10 > slots_.size() * 7) index_resize(slots_.size() * 2);
  const Node& node = nodes_[n];
  slots_[slot_of(node.parent_id, node.id)] = Slot{static_cast<uint32_t>(key_hash(node.parent_id, node.id)), n};
  ++indexed_;
}

void CompletionTracker::index_erase(uint32_t n) {
  size_t mask = slots_.size() - 1;
  size_t hole = slot_of(nodes_[n].parent_id, nodes_[n].id);
  // Backward shift: pull later entries of the probe run into the hole unless that would put one
  // before its home slot.
  for (size_t j = (hole + 1) & mask; slots_[j].node != kNone; j = (j + 1) & mask) {
    size_t home = slots_[j].hash & mask;
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
  --indexed_;
  // Give memory back once the frontier has shrunk a lot (never below the initial size).
  if (slots_.size() > 1024 && indexed_ * 10 < slots_.size()) index_resize(slots_.size() / 4);
}

void CompletionTracker::index_resize(size_t slots) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(slots, Slot{});
  size_t mask = slots - 1;
  for (const Slot& slot : old) {
    if (slot.node == kNone) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].node != kNone) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

uint32_t CompletionTracker::find(uint32_t parent, uint64_t id) const {
  return slots_[slot_of(nodes_[parent].id, id)].node;
}

uint32_t CompletionTracker::make(uint32_t parent, uint64_t id) {
  uint32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
    nodes_[n] = Node{};
  } else {
    n = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  Node& node = nodes_[n];
  node.id = id;
  node.parent_id = nodes_[parent].id;
  node.parent = parent;
  node.next = nodes_[parent].first_kid;
  if (node.next != kNone) nodes_[node.next].prev = n;
  nodes_[parent].first_kid = n;
  index_insert(n);
  ++pending_;
  return n;
}

void CompletionTracker::forget(uint32_t n) {
  while (nodes_[n].first_kid != kNone) forget(nodes_[n].first_kid);
  Node& node = nodes_[n];
  Node& parent = nodes_[node.parent];
  if (node.prev != kNone) {
    nodes_[node.prev].next = node.next;
  } else {
    parent.first_kid = node.next;
  }
  if (node.next != kNone) nodes_[node.next].prev = node.prev;
  index_erase(n);
  if (!node.reported) --pending_;
  free_.push_back(n);
}

uint32_t CompletionTracker::parent_node(std::span<const uint64_t> lineage) {
  if (lineage.front() != nodes_[0].id) return kNone;  // not a task of this run
  uint32_t at = 0;
  for (size_t i = 1; i < lineage.size(); ++i) {
    uint32_t next = find(at, lineage[i]);
    if (next == kNone) {
      if (nodes_[at].reported) return kNone;  // covered: see (1) in the header
      next = make(at, lineage[i]);            // an ancestor not announced yet: see (2)
    }
    at = next;
  }
  return at;
}

bool CompletionTracker::report(std::span<const uint64_t> lineage, uint64_t id, std::span<const uint64_t> children) {
  if (root_complete_) return false;
  uint32_t n;
  if (lineage.empty()) {
    if (id != nodes_[0].id) return false;
    n = 0;
  } else if (uint32_t held = slots_[slot_of(lineage.back(), id)].node; held != kNone) {
    n = held;  // the usual case: announced by a parent that reported first
  } else {
    uint32_t parent = parent_node(lineage);
    if (parent == kNone || nodes_[parent].reported) return false;
    n = make(parent, id);
  }
  if (nodes_[n].reported) return false;
  nodes_[n].reported = true;
  --pending_;
  ++done_;
  announce(n, children);
  settle(n);
  return true;
}

void CompletionTracker::announce(uint32_t n, std::span<const uint64_t> children) {
  for (uint64_t child : children) {
    uint32_t kid = find(n, child);
    if (kid == kNone) {
      kid = make(n, child);
    } else if (nodes_[kid].matched) {
      continue;  // named twice
    } else if (nodes_[kid].complete) {
      forget(kid);  // it reported early and is done; from now on its absence says so
      continue;
    }
    nodes_[kid].matched = true;
    ++nodes_[n].open_kids;
  }
  // Early children this report does not announce came from another listing of the directory:
  // dropped, with whatever was held under them.
  for (uint32_t kid = nodes_[n].first_kid; kid != kNone;) {
    uint32_t next = nodes_[kid].next;
    if (nodes_[kid].matched) {
      nodes_[kid].matched = false;
    } else {
      forget(kid);
    }
    kid = next;
  }
}

void CompletionTracker::settle(uint32_t n) {
  for (;;) {
    Node& node = nodes_[n];
    if (!node.reported || node.open_kids) return;
    if (node.parent == kNone) {
      root_complete_ = true;
      return;
    }
    uint32_t parent = node.parent;
    if (!nodes_[parent].reported) {
      node.complete = true;  // held until the parent's report can match it
      return;
    }
    forget(n);
    --nodes_[parent].open_kids;
    n = parent;
  }
}

size_t CompletionTracker::memory_bytes() const {
  return nodes_.capacity() * sizeof(Node) + free_.capacity() * sizeof(uint32_t) + slots_.capacity() * sizeof(Slot);
}

std::string CompletionTracker::save() const {
  // Pre-order from the root, each node as (id, index of its parent in this list, flags): parents
  // come before their children, so load() rebuilds the lists and counts in one sweep.
  std::string out(kMagic, sizeof kMagic);
  put_packed<uint64_t>(out, done_);
  put_packed<uint8_t>(out, root_complete_);
  if (root_complete_) return out;
  std::vector<std::pair<uint32_t, uint32_t>> stack{{0, kNone}};  // (node, parent's position)
  uint32_t position = 0;
  while (!stack.empty()) {
    auto [n, parent_position] = stack.back();
    stack.pop_back();
    const Node& node = nodes_[n];
    put_packed<uint64_t>(out, node.id);
    put_packed<uint32_t>(out, parent_position);
    put_packed<uint8_t>(out, (node.reported ? kReported : 0) | (node.complete ? kComplete : 0));
    for (uint32_t kid = node.first_kid; kid != kNone; kid = nodes_[kid].next) stack.emplace_back(kid, position);
    ++position;
  }
  return out;
}

CompletionTracker CompletionTracker::load(const std::string& bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw std::invalid_argument("not a completion checkpoint of this version");
  }
  PackedReader in(bytes, "completion checkpoint");
  in.skip(sizeof kMagic);
  CompletionTracker t;
  t.done_ = in.take<uint64_t>();
  t.root_complete_ = in.take<uint8_t>() != 0;
  while (!in.done()) {
    uint64_t id = in.take<uint64_t>();
    uint32_t parent = in.take<uint32_t>();
    uint8_t flags = in.take<uint8_t>();
    uint32_t n;
    if (t.nodes_.empty()) {
      if (parent != kNone) throw std::invalid_argument("completion checkpoint without a root");
      t.nodes_.push_back(Node{.id = id});
      t.index_resize(1024);
      t.index_insert(0);
      t.pending_ = 1;
      n = 0;
    } else {
      if (parent >= t.nodes_.size()) throw std::invalid_argument("completion checkpoint out of order");
      n = t.make(parent, id);
      if (t.nodes_[parent].reported) ++t.nodes_[parent].open_kids;
    }
    if (flags & kReported) {
      t.nodes_[n].reported = true;
      --t.pending_;
    }
    t.nodes_[n].complete = flags & kComplete;
  }
  if (t.nodes_.empty() && !t.root_complete_) throw std::invalid_argument("empty completion checkpoint");
  return t;
}

}  // namespace lmover
