// PassOptions to and from the JSON spec of a distributed run. The plain fields are one table that
// serves both directions, so a field cannot travel one way only; the rest (filters, Lustre) are
// written beside it and checked by the round-trip test (pass_options_spec_test.cc).
#include <algorithm>
#include <ctime>
#include <tuple>
#include <variant>
#include <vector>

#include "passes/pass_context.h"

namespace lmover {
namespace {

using json = nlohmann::json;

using PlainField = std::variant<bool PassOptions::*, double PassOptions::*, uint64_t PassOptions::*,
                                bool MetadataPlan::*>;

const std::vector<std::pair<const char*, PlainField>>& plain_fields() {
  static const std::vector<std::pair<const char*, PlainField>> fields = {
      {"dry_run", &PassOptions::dry_run},
      {"verbose", &PassOptions::verbose},
      {"owner", &MetadataPlan::owner},
      {"xattrs", &MetadataPlan::xattrs},
      {"relayout", &PassOptions::relayout},
      {"rewrite", &PassOptions::rewrite},
      {"verify_content", &PassOptions::verify_content},
      {"chunk_threshold", &PassOptions::chunk_threshold},
      {"chunk_size", &PassOptions::chunk_size},
      {"rebalance_percent", &PassOptions::rebalance_percent},
      {"rebalance_seed", &PassOptions::rebalance_seed},
  };
  return fields;
}

// Paths are raw bytes (not always UTF-8): JSON binary, which MessagePack carries as bin.
json path_bytes(const std::string& raw) { return json::binary(std::vector<uint8_t>(raw.begin(), raw.end())); }
std::string path_from(const json& j) {
  if (!j.is_binary()) throw json::type_error::create(302, "a path is not bytes", &j);
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

json time_or_null(const std::optional<timespec>& t) {
  return t ? json::array({t->tv_sec, t->tv_nsec}) : json(nullptr);
}
std::optional<timespec> time_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return timespec{j.at(0).get<time_t>(), j.at(1).get<long>()};
}

}  // namespace

json PassOptions::to_spec() const {
  json out = json::object();
  for (const auto& [key, field] : plain_fields()) {
    std::visit(
        [&, key = key](auto member) {
          if constexpr (std::is_same_v<decltype(member), bool MetadataPlan::*>) {
            out[key] = metadata.*member;
          } else {
            out[key] = this->*member;
          }
        },
        field);
  }
  // Sorted: the filters hold sets without an order, and a spec is compared whole (tests, logs).
  std::vector<std::string> excluded = filters.excluded_paths(), selected = filters.only_paths();
  std::sort(excluded.begin(), excluded.end());
  std::sort(selected.begin(), selected.end());
  json exclude = json::array(), only = json::array();
  for (const auto& path : excluded) exclude.push_back(path_bytes(path));
  for (const auto& path : selected) only.push_back(path_bytes(path));
  out["exclude"] = exclude;
  out["only"] = only;
  out["atime_before"] = time_or_null(filters.atime_before());
  out["mtime_after"] = time_or_null(filters.mtime_after());
  out["lustre"] = lustre_settings_to_spec(lustre ? &lustre->settings() : nullptr);
  return out;
}

PassOptions PassOptions::from_spec(const json& spec) {
  PassOptions o;
  for (const auto& [key, field] : plain_fields()) {
    std::visit(
        [&, key = key](auto member) {
          if constexpr (std::is_same_v<decltype(member), bool MetadataPlan::*>) {
            o.metadata.*member = spec.value(key, o.metadata.*member);
          } else {
            o.*member = spec.value(key, o.*member);
          }
        },
        field);
  }
  for (const auto& path : spec.value("exclude", json::array())) o.filters.exclude(path_from(path));
  for (const auto& path : spec.value("only", json::array())) o.filters.only(path_from(path));
  if (auto t = time_from(spec.value("atime_before", json()))) o.filters.skip_atime_before(*t);
  if (auto t = time_from(spec.value("mtime_after", json()))) o.filters.skip_mtime_after(*t);
  return o;
}

}  // namespace lmover
