#include "cli/pass_factory.h"

#include <unistd.h>

#include <stdexcept>

#include "fs/resolve.h"
#include "passes/copy_pass.h"
#include "passes/delete_pass.h"
#include "passes/dirtime_pass.h"
#include "rabbit/messages.h"

namespace lmover {
namespace {

using json = nlohmann::json;

json time_or_null(const std::optional<timespec>& t) {
  return t ? json::array({t->tv_sec, t->tv_nsec}) : json(nullptr);
}

std::optional<timespec> time_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return timespec{j.at(0).get<time_t>(), j.at(1).get<long>()};
}

class PassRunner : public TaskRunner {
 public:
  explicit PassRunner(const json& spec)
      : kind_(pass_kind(spec.at("pass").get<std::string>())),
        src_(open_root(spec.at("src").get<std::string>())),
        dst_(open_root(spec.at("dst").get<std::string>())) {
    options_.dry_run = spec.at("dry_run").get<bool>();
    options_.verbose = spec.at("verbose").get<bool>();
    // Owners are preserved when this worker can: it may run with other privileges than the submitter.
    options_.metadata.owner = spec.at("owner").get<bool>() && geteuid() == 0;
    for (const auto& path : spec.at("exclude")) options_.filters.exclude(from_bytes(path));
    if (auto t = time_from(spec.at("atime_before"))) options_.filters.skip_atime_before(*t);
    if (auto t = time_from(spec.at("mtime_after"))) options_.filters.skip_mtime_after(*t);
  }

  TaskOutcome run(const Task& task, TaskSink& sink) override {
    PassStats stats;
    FailureLog failures;
    failures.collect();
    PassContext ctx(src_.get(), dst_.get(), options_, stats, failures);
    make_handler(kind_, ctx)->handle(task, sink);
    return TaskOutcome{stats.to_json(), failures.take_collected()};
  }

 private:
  PassKind kind_;
  UniqueFd src_, dst_;
  PassOptions options_;
};

}  // namespace

const char* pass_name(PassKind kind) {
  switch (kind) {
    case PassKind::kCopy: return "copy";
    case PassKind::kDelete: return "delete";
    case PassKind::kDirtime: return "dirtime";
  }
  return "?";
}

PassKind pass_kind(const std::string& name) {
  if (name == "copy") return PassKind::kCopy;
  if (name == "delete") return PassKind::kDelete;
  if (name == "dirtime") return PassKind::kDirtime;
  throw std::invalid_argument("unknown pass '" + name + "'");
}

std::unique_ptr<TaskHandler> make_handler(PassKind kind, const PassContext& ctx) {
  switch (kind) {
    case PassKind::kCopy: return std::make_unique<CopyPass>(ctx);
    case PassKind::kDelete: return std::make_unique<DeletePass>(ctx);
    case PassKind::kDirtime: return std::make_unique<DirtimePass>(ctx);
  }
  throw std::invalid_argument("unknown pass");
}

json make_spec(PassKind kind, const std::string& src, const std::string& dst, const PassOptions& options) {
  json exclude = json::array();
  for (const auto& path : options.filters.excluded_paths()) exclude.push_back(to_bytes(path));
  return {{"pass", pass_name(kind)},
          {"src", src},
          {"dst", dst},
          {"dry_run", options.dry_run},
          {"verbose", options.verbose},
          {"owner", options.metadata.owner},
          {"exclude", exclude},
          {"atime_before", time_or_null(options.filters.atime_before())},
          {"mtime_after", time_or_null(options.filters.mtime_after())}};
}

RunnerFactory pass_runner_factory() {
  return [](const json& spec) -> std::shared_ptr<TaskRunner> { return std::make_shared<PassRunner>(spec); };
}

}  // namespace lmover
