#include "distributed/messages.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "distributed/packed.h"
#include "report/version.h"

namespace lmover {
namespace {

constexpr int kVersion = 3;  // 3: task bundles, lineages, packed reports
using json = nlohmann::json;

std::string text_or(const json& j, const char* key, const std::string& otherwise) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

json parse(const std::string& body) {
  json j = json::from_msgpack(body, true, false);
  if (j.is_discarded() || !j.is_object()) throw std::invalid_argument("not a MessagePack map");
  if (auto v = j.find("v"); v == j.end() || !v->is_number_integer() || v->get<int>() != kVersion) {
    std::string sender = text_or(j, "refused_by", text_or(j, "node", ""));
    throw OtherVersion(fmt::format("message version {} from {}{} (this lmover: version {}, {}): every node must run "
                                   "the same lmover",
                                   v == j.end() ? std::string("?") : v->dump(), text_or(j, "lmover", "an older lmover"),
                                   sender.empty() ? "" : " on " + sender, kVersion, version_line()),
                       text_or(j, "run", ""), sender);
  }
  return j;
}

}  // namespace

std::string pack_msgpack(const json& j) {
  auto out = json::to_msgpack(j);
  return std::string(out.begin(), out.end());
}

uint32_t LineageTable::add(uint32_t up, uint64_t id) {
  entries_.emplace_back(up, id);
  return static_cast<uint32_t>(entries_.size() - 1);
}

void LineageTable::lineage(uint32_t index, std::vector<uint64_t>& out) const {
  out.clear();
  for (uint32_t at = index; at != kTop; at = entries_.at(at).first) out.push_back(entries_[at].second);
  std::reverse(out.begin(), out.end());
}

uint32_t LineageTable::copy_from(const LineageTable& from, uint32_t index, std::vector<uint32_t>& memo) {
  if (index == kTop) return kTop;
  if (memo.size() < from.entries_.size()) memo.resize(from.entries_.size(), kTop);
  if (memo[index] == kTop) {
    uint32_t up = copy_from(from, from.entries_.at(index).first, memo);
    memo[index] = add(up, from.entries_[index].second);
  }
  return memo[index];
}

std::string LineageTable::pack() const {
  std::string out;
  out.reserve(entries_.size() * 12);
  for (const auto& [up, id] : entries_) {
    put_packed<uint32_t>(out, up);
    put_packed<uint64_t>(out, id);
  }
  return out;
}

LineageTable LineageTable::unpack(const std::string& bytes) {
  PackedReader in(bytes, "lineage table");
  LineageTable t;
  while (!in.done()) {
    uint32_t up = in.take<uint32_t>();
    uint64_t id = in.take<uint64_t>();
    // Parents come first, so every lineage ends at the top: no cycles, no dangling entries.
    if (up != kTop && up >= t.entries_.size()) throw std::invalid_argument("lineage entry before its parent");
    t.add(up, id);
  }
  return t;
}

void ReportMessage::set_counters(TaskResult& result, const std::vector<std::pair<std::string_view, uint64_t>>& counters) {
  for (const auto& [key, n] : counters) {
    if (n == 0) continue;
    size_t k = 0;
    while (k < keys.size() && keys[k] != key) ++k;
    if (k == keys.size()) keys.emplace_back(key);
    result.counters.emplace_back(static_cast<uint8_t>(k), n);
  }
}

json to_bytes(const std::string& raw) { return json::binary(std::vector<uint8_t>(raw.begin(), raw.end())); }

std::string from_bytes(const json& j) {
  if (!j.is_binary()) throw std::invalid_argument("expected bytes");
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

std::string encode(const TaskMessage& m) {
  json tasks = json::array();
  for (const QueuedTask& q : m.tasks) {
    json names = json::array();
    for (const auto& n : q.task.names) names.push_back(to_bytes(n));
    json t = {{"kind", static_cast<int>(q.task.kind)},
              {"id", q.task.id},
              {"up", q.up},
              {"dir", to_bytes(q.task.dir)},
              {"names", names},
              {"new", q.task.target_is_new}};
    if (q.task.shallow) t["shallow"] = true;
    if (q.task.kind == TaskKind::kChunk) {
      t["off"] = q.task.offset;
      t["len"] = q.task.length;
      t["index"] = q.task.index;
    }
    tasks.push_back(std::move(t));
  }
  return pack_msgpack({{"v", kVersion}, {"lmover", version_line()}, {"run", m.run}, {"spec", m.spec},
                       {"lineage", to_bytes(m.lineage.pack())}, {"tasks", tasks}});
}

std::string encode(const ReportMessage& m) {
  json j = {{"v", kVersion}, {"lmover", version_line()}, {"run", m.run}};
  if (m.is_refusal()) {
    j["refused_by"] = m.refused_by;
    j["reason"] = m.reason;
    return pack_msgpack(j);
  }
  // done: per task (up u32, id u64, children count u32, children u64..., counters count u8,
  // (key index u8, value u64)...).
  std::string done;
  json failures = json::array(), linked = json::array();
  for (size_t i = 0; i < m.done.size(); ++i) {
    const TaskResult& t = m.done[i];
    put_packed<uint32_t>(done, t.up);
    put_packed<uint64_t>(done, t.id);
    put_packed<uint32_t>(done, static_cast<uint32_t>(t.children.size()));
    for (uint64_t c : t.children) put_packed<uint64_t>(done, c);
    put_packed<uint8_t>(done, static_cast<uint8_t>(t.counters.size()));
    for (const auto& [key, value] : t.counters) {
      put_packed<uint8_t>(done, key);
      put_packed<uint64_t>(done, value);
    }
    for (const auto& [path, message] : t.failures) failures.push_back({i, to_bytes(path), message});
    for (const auto& rel : t.linked) linked.push_back({i, to_bytes(rel)});
  }
  j["lineage"] = to_bytes(m.lineage.pack());
  j["keys"] = m.keys;
  if (!m.node.empty()) j["node"] = m.node;
  j["done"] = to_bytes(done);
  j["failures"] = failures;
  if (!linked.empty()) j["linked"] = linked;
  return pack_msgpack(j);
}

TaskMessage decode_task(const std::string& body) {
  try {
    json j = parse(body);
    TaskMessage m;
    m.run = j.at("run").get<std::string>();
    m.spec = j.at("spec");
    m.lineage = LineageTable::unpack(from_bytes(j.at("lineage")));
    for (const json& t : j.at("tasks")) {
      QueuedTask& q = m.tasks.emplace_back();
      int kind = t.at("kind").get<int>();
      if (kind < static_cast<int>(TaskKind::kDirectory) || kind > static_cast<int>(TaskKind::kPlaces)) {
        throw std::invalid_argument("unknown task kind");
      }
      q.task.kind = static_cast<TaskKind>(kind);
      q.task.id = t.at("id").get<uint64_t>();
      q.up = t.at("up").get<uint32_t>();
      if (q.up != LineageTable::kTop && q.up >= m.lineage.size()) throw std::invalid_argument("task lineage out of range");
      q.task.dir = from_bytes(t.at("dir"));
      for (const auto& n : t.at("names")) q.task.names.push_back(from_bytes(n));
      q.task.target_is_new = t.at("new").get<bool>();
      q.task.shallow = t.value("shallow", false);
      if (q.task.kind == TaskKind::kChunk) {
        q.task.offset = t.at("off").get<uint64_t>();
        q.task.length = t.at("len").get<uint64_t>();
        q.task.index = t.at("index").get<uint32_t>();
        if (q.task.names.size() != 2) throw std::invalid_argument("chunk task without its file and part");
      }
    }
    if (m.tasks.empty()) throw std::invalid_argument("task message without tasks");
    return m;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("malformed task message: ") + e.what());
  }
}

ReportMessage decode_report(const std::string& body) {
  try {
    json j = parse(body);
    ReportMessage m;
    m.run = j.at("run").get<std::string>();
    if (j.contains("refused_by")) {
      m.refused_by = j.at("refused_by").get<std::string>();
      m.reason = j.at("reason").get<std::string>();
      if (m.refused_by.empty()) throw std::invalid_argument("refusal notice without a worker");
      return m;
    }
    m.lineage = LineageTable::unpack(from_bytes(j.at("lineage")));
    m.keys = j.at("keys").get<std::vector<std::string>>();
    m.node = j.value("node", "");
    std::string done = from_bytes(j.at("done"));
    PackedReader in(done, "report");
    while (!in.done()) {
      TaskResult& t = m.done.emplace_back();
      t.up = in.take<uint32_t>();
      if (t.up != LineageTable::kTop && t.up >= m.lineage.size()) throw std::invalid_argument("report lineage out of range");
      t.id = in.take<uint64_t>();
      uint32_t children = in.take<uint32_t>();
      if (children > done.size() / sizeof(uint64_t)) throw std::invalid_argument("report children count too large");
      t.children.reserve(children);
      for (uint32_t c = 0; c < children; ++c) t.children.push_back(in.take<uint64_t>());
      uint8_t counters = in.take<uint8_t>();
      for (uint8_t c = 0; c < counters; ++c) {
        uint8_t key = in.take<uint8_t>();
        if (key >= m.keys.size()) throw std::invalid_argument("report counter key out of range");
        t.counters.emplace_back(key, in.take<uint64_t>());
      }
    }
    if (m.done.empty()) throw std::invalid_argument("report of no task");
    for (const json& f : j.at("failures")) {
      size_t i = f.at(0).get<size_t>();
      if (i >= m.done.size()) throw std::invalid_argument("failure of no task");
      m.done[i].failures.emplace_back(from_bytes(f.at(1)), f.at(2).get<std::string>());
    }
    for (const json& l : j.value("linked", json::array())) {
      size_t i = l.at(0).get<size_t>();
      if (i >= m.done.size()) throw std::invalid_argument("hard link of no task");
      m.done[i].linked.push_back(from_bytes(l.at(1)));
    }
    return m;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("malformed report message: ") + e.what());
  }
}

}  // namespace lmover
