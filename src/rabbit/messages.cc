#include "rabbit/messages.h"

#include <stdexcept>

namespace lmover {
namespace {

constexpr int kVersion = 2;  // 2: counters per task id, refusal notices
using json = nlohmann::json;

json parse(const std::string& body) {
  json j = json::from_msgpack(body, true, false);
  if (j.is_discarded() || !j.is_object()) throw std::invalid_argument("not a MessagePack map");
  if (j.value("v", 0) != kVersion) throw std::invalid_argument("unknown message version");
  return j;
}

}  // namespace

json to_bytes(const std::string& raw) { return json::binary(std::vector<uint8_t>(raw.begin(), raw.end())); }

std::string from_bytes(const json& j) {
  if (!j.is_binary()) throw std::invalid_argument("expected bytes");
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

std::string encode(const TaskMessage& m) {
  json names = json::array();
  for (const auto& n : m.task.names) names.push_back(to_bytes(n));
  json j = {{"v", kVersion},
            {"run", m.run},
            {"spec", m.spec},
            {"task",
             {{"kind", static_cast<int>(m.task.kind)},
              {"id", m.task.id},
              {"dir", to_bytes(m.task.dir)},
              {"names", names},
              {"new", m.task.target_is_new}}}};
  auto out = json::to_msgpack(j);
  return std::string(out.begin(), out.end());
}

std::string encode(const ReportMessage& m) {
  json j = {{"v", kVersion}, {"run", m.run}};
  if (m.is_refusal()) {
    j["refused_by"] = m.refused_by;
    j["reason"] = m.reason;
  } else {
    json done = json::array();
    for (const TaskResult& t : m.done) {
      json counters = json::object();
      for (const auto& [key, value] : t.counters.items()) {
        if (value.is_number() && value.get<uint64_t>() != 0) counters[key] = value;
      }
      json failures = json::array();
      for (const auto& [path, message] : t.failures) failures.push_back({to_bytes(path), message});
      done.push_back({t.id, counters, failures});
    }
    j["done"] = done;
    j["children"] = m.children;
  }
  auto out = json::to_msgpack(j);
  return std::string(out.begin(), out.end());
}

TaskMessage decode_task(const std::string& body) {
  try {
    json j = parse(body);
    TaskMessage m;
    m.run = j.at("run").get<std::string>();
    m.spec = j.at("spec");
    const json& t = j.at("task");
    int kind = t.at("kind").get<int>();
    if (kind != static_cast<int>(TaskKind::kDirectory) && kind != static_cast<int>(TaskKind::kBatch)) {
      throw std::invalid_argument("unknown task kind");
    }
    m.task.kind = static_cast<TaskKind>(kind);
    m.task.id = t.at("id").get<uint64_t>();
    m.task.dir = from_bytes(t.at("dir"));
    for (const auto& n : t.at("names")) m.task.names.push_back(from_bytes(n));
    m.task.target_is_new = t.at("new").get<bool>();
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
    for (const auto& d : j.at("done")) {
      TaskResult t;
      t.id = d.at(0).get<uint64_t>();
      t.counters = d.at(1);
      if (!t.counters.is_object()) throw std::invalid_argument("counters are not a map");
      for (const auto& f : d.at(2)) t.failures.emplace_back(from_bytes(f.at(0)), f.at(1).get<std::string>());
      m.done.push_back(std::move(t));
    }
    if (m.done.empty()) throw std::invalid_argument("report of no task");
    m.children = j.at("children").get<std::vector<uint64_t>>();
    return m;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("malformed report message: ") + e.what());
  }
}

}  // namespace lmover
